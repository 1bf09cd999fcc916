# tests/integration/lib.sh: the integration tests' harness, sourced by each
# scenario script (bash).  It owns everything a scenario runs against, all
# on loopback and all under one mktemp -d that is removed on exit:
#
#   - a test CA and certificates made with the openssl CLI (it_make_ca,
#     it_cert);
#   - a real Verdaccio 6 (tests/integration/node_modules, installed by
#     install.sh) with no uplinks, so it never reaches out
#     (it_start_verdaccio), and a user on it (it_adduser);
#   - pubgate itself, `$PUBGATE serve` with TLS from the test CA in front
#     of that Verdaccio (it_start_pubgate), and an npmrc that points the
#     real npm client at it (it_npm);
#   - assertions that say what failed (it_fail, it_expect_*), and a check
#     that pubgate exits cleanly on SIGTERM with no sanitizer report.
#
# The environment: PUBGATE (the binary, set by meson).  KEEP=1 keeps the
# temporary directory for a post-mortem.  A missing tool is a failure,
# not a skip: the test command installs everything.
set -euo pipefail

IT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_NAME=$(basename "$0" .sh)
IT_PIDS=()
IT_PG_PID=
IT_VD_PID=

# Loopback only: no proxy may see (or break) the tests' traffic.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false
export npm_config_fund=false npm_config_audit=false
# pubgate's sanitizers fail loudly (contrib/test.sh sets the same).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

it_log() {
	printf '%s: %s\n' "$IT_NAME" "$*" >&2
}

# it_fail MSG: reports MSG with the tail of every log, then exits 1.
it_fail() {
	local f
	trap - ERR
	printf '\nFAIL %s: %s\n' "$IT_NAME" "$*" >&2
	for f in "$T"/pubgate.err "$T"/pubgate.out "$T"/verdaccio.log \
	    "$T"/npm.out "$T"/npm.err; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s\n' "${f#"$T"/}" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

it_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
		    it_fail "missing tool: $t (contrib/install-deps.sh installs it)"
	done
}

# it_expect_eq GOT WANT WHAT
it_expect_eq() {
	[ "$1" = "$2" ] || it_fail "$3: got \"$1\", want \"$2\""
}

# it_expect_grep PATTERN FILE WHAT: an extended regex must match in FILE.
it_expect_grep() {
	grep -Eq -- "$1" "$2" || it_fail "$3: /$1/ not in ${2#"$T"/}"
}

# it_expect_no_grep PATTERN FILE WHAT
it_expect_no_grep() {
	! grep -Eq -- "$1" "$2" || it_fail "$3: /$1/ found in ${2#"$T"/}"
}

# it_expect_no_secret STRING FILE WHAT: a fixed string (a token) must not
# occur in FILE; the message does not repeat it.
it_expect_no_secret() {
	[ -e "$2" ] || return 0
	! grep -Fq -- "$1" "$2" || it_fail "$3: found in ${2#"$T"/}"
}

# it_json EXPR [FILE]: evaluates a JS expression on `d`, the parsed JSON.
it_json() {
	node "$IT_HERE/json.js" "$@"
}

it_sha512() {
	sha512sum "$1" | cut -d' ' -f1
}

# it_free_port: a TCP port on 127.0.0.1 nobody listens on now.  Servers
# started on it retry with another port if it was taken meanwhile.
it_free_port() {
	node -e 'const s = require("net").createServer();
	    s.listen(0, "127.0.0.1", () => {
	    console.log(s.address().port); s.close(); });'
}

# it_wait_http URL [CURLOPTS...]: waits up to 60 s for any HTTP answer.
it_wait_http() {
	local url=$1 i code
	shift
	for i in $(seq 1 300); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$@" "$url" 2>/dev/null || true)
		[ "$code" != "000" ] && [ -n "$code" ] && return 0
		sleep 0.2
	done
	return 1
}

it_cleanup() {
	local rc=$? pid
	trap - EXIT ERR
	# A scenario's own teardown (processes, servers): never its status.
	if [ -n "${IT_ON_EXIT:-}" ]; then
		eval "$IT_ON_EXIT" || true
	fi
	if [ -n "$IT_PG_PID" ] && kill -0 "$IT_PG_PID" 2>/dev/null; then
		it_stop_pubgate || rc=1
	fi
	for pid in "${IT_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${IT_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		it_log "kept $T"
	else
		rm -rf "$T"
	fi
	[ "$rc" -eq 0 ] && printf 'PASS %s\n' "$IT_NAME" >&2
	exit "$rc"
}

# it_init: the temporary directory, the exit trap, the tools.
it_init() {
	[ -n "${PUBGATE:-}" ] || { echo "PUBGATE is not set" >&2; exit 1; }
	[ -x "$PUBGATE" ] || { echo "PUBGATE=$PUBGATE is not executable" >&2; exit 1; }
	T=$(mktemp -d "${TMPDIR:-/tmp}/pubgate-it.XXXXXX")
	IT_MAIN_PID=$BASHPID
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
	# A command that fails outside any check still says where (once, from
	# the main shell, not from each subshell it ran in; not where the
	# script turned errexit off to look at a status itself).
	set -E
	trap '[ "$BASHPID" != "$IT_MAIN_PID" ] || [[ $- != *e* ]] ||
	    it_fail "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR
	it_need node npm curl openssl sha512sum
	[ -x "$IT_HERE/node_modules/.bin/verdaccio" ] ||
	    it_fail "Verdaccio missing: run tests/integration/install.sh"
	mkdir -p "$T/home"
	export HOME="$T/home"
	export npm_config_cache="$T/npm-cache"
	IT_POLICY="$IT_HERE/policy.yaml"
}

# it_make_ca: $T/ca.pem, $T/ca.key; and $T/server.{pem,key} for
# 127.0.0.1 and localhost, signed by it.
it_make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
	    -subj "/CN=pubgate integration test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    >/dev/null 2>&1 || it_fail "openssl: cannot make the test CA"
	it_cert server "IP:127.0.0.1,DNS:localhost" ca
}

# it_cert NAME SAN ca|self: $T/NAME.pem and $T/NAME.key, a P-256 server
# certificate for SAN, signed by the test CA or self-signed.
it_cert() {
	local name=$1 san=$2 how=$3 ext="$T/$1.ext"
	printf '%s\n' "subjectAltName=$san" "basicConstraints=CA:FALSE" \
	    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
	    >"$ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$name.key" -out "$T/$name.csr" -subj "/CN=$name" \
	    >/dev/null 2>&1 || it_fail "openssl: cannot make a key for $name"
	if [ "$how" = ca ]; then
		openssl x509 -req -in "$T/$name.csr" -CA "$T/ca.pem" \
		    -CAkey "$T/ca.key" -CAcreateserial -days 2 \
		    -extfile "$ext" -out "$T/$name.pem" >/dev/null 2>&1 ||
		    it_fail "openssl: cannot sign $name"
	else
		openssl x509 -req -in "$T/$name.csr" -signkey "$T/$name.key" \
		    -days 2 -extfile "$ext" -out "$T/$name.pem" \
		    >/dev/null 2>&1 || it_fail "openssl: cannot self-sign $name"
	fi
}

# it_start_verdaccio [CERT]: a Verdaccio on 127.0.0.1:$VD_PORT (VD_PORT_WANT
# if set, else a free port), over HTTPS with $T/CERT.{pem,key} when CERT is
# given; its storage in $T/verdaccio/storage, no uplinks, no audit
# middleware (it would reach registry.npmjs.org), htpasswd auth.  Every
# request it serves is logged to $T/verdaccio.log (level http), so a test
# can tell what reached the upstream.
it_start_verdaccio() {
	local attempt cert=${1:-} scheme=http tls=''
	mkdir -p "$T/verdaccio/storage"
	if [ -n "$cert" ]; then
		scheme=https
		tls="https:
  key: $T/$cert.key
  cert: $T/$cert.pem"
	fi
	for attempt in 1 2 3; do
		VD_PORT=${VD_PORT_WANT:-$(it_free_port)}
		cat >"$T/verdaccio/config.yaml" <<EOF
storage: $T/verdaccio/storage
auth:
  htpasswd:
    file: $T/verdaccio/htpasswd
    max_users: 100
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
middlewares:
  audit:
    enabled: false
web:
  enable: false
$tls
listen: $scheme://127.0.0.1:$VD_PORT
max_body_size: 200mb
log: { type: stdout, format: pretty, level: http }
EOF
		"$IT_HERE/node_modules/.bin/verdaccio" \
		    --config "$T/verdaccio/config.yaml" \
		    --listen "$scheme://127.0.0.1:$VD_PORT" \
		    >>"$T/verdaccio.log" 2>&1 &
		IT_VD_PID=$!
		IT_PIDS+=("$IT_VD_PID")
		VD_URL="$scheme://127.0.0.1:$VD_PORT"
		if it_wait_http "$VD_URL/-/ping" -k &&
		    kill -0 "$IT_VD_PID" 2>/dev/null; then
			return 0
		fi
		kill "$IT_VD_PID" 2>/dev/null || true
	done
	it_fail "Verdaccio did not start"
}

# it_vd_requests PATTERN: how many requests Verdaccio served whose log
# line matches PATTERN (an extended regex). Verdaccio writes a request's
# line after it has sent the answer, and its logger may flush later still,
# so a client can hold a 201 whose line is not in the file yet. A marker
# request sent now is answered, and its "http <--" line written, after
# every answer already sent: once that line is in the file, so is every
# earlier one, and the count is complete.
# (Called in $(...): the marker's name comes from the clock, not a counter.)
it_vd_requests() {
	local mark i
	mark="/-/pubgate-it-sync-$(date +%s%N)"
	curl -sS -k -o /dev/null "$VD_URL$mark" 2>/dev/null || true
	for i in $(seq 1 100); do
		grep -q "http <--.*'GET $mark'" "$T/verdaccio.log" && break
		sleep 0.1
	done
	grep -q "http <--.*'GET $mark'" "$T/verdaccio.log" ||
	    it_fail "Verdaccio did not log the marker request $mark"
	grep -E 'http <--' "$T/verdaccio.log" | grep -Ec -- "$1" || true
}

# it_adduser NAME: creates NAME on Verdaccio; sets TOKEN (never logged).
it_adduser() {
	local name=$1 out="$T/adduser.json"
	curl -sS -k -o "$out" -X PUT \
	    -H 'content-type: application/json' \
	    --data "{\"name\":\"$name\",\"password\":\"pw-$name-0123\",\"type\":\"user\",\"roles\":[],\"date\":\"2026-01-01T00:00:00.000Z\"}" \
	    "$VD_URL/-/user/org.couchdb.user:$name" ||
	    it_fail "adduser: Verdaccio did not answer"
	TOKEN=$(it_json 'd.token' "$out") || it_fail "adduser: no token"
	rm -f "$out"
}

# it_start_pubgate [ARGS...]: `pubgate serve` on https://127.0.0.1:$PG_PORT
# in front of $UPSTREAM (default the Verdaccio), with $IT_POLICY and
# $T/pubgate.db; extra ARGS go to serve.  Writes $T/npmrc for it.
it_start_pubgate() {
	local attempt upstream=${UPSTREAM:-$VD_URL} workers
	workers=$(it_workers_flag "$@")
	for attempt in 1 2 3; do
		PG_PORT=$(it_free_port)
		PG_URL="https://127.0.0.1:$PG_PORT"
		# shellcheck disable=SC2086 # empty or two words
		"$PUBGATE" serve --listen "$PG_URL" \
		    --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
		    --upstream "$upstream" --policy "$IT_POLICY" \
		    --db "$T/pubgate.db" $workers "$@" \
		    >>"$T/pubgate.out" 2>>"$T/pubgate.err" &
		IT_PG_PID=$!
		if it_wait_http "$PG_URL/-/pubgate/none" --cacert "$T/ca.pem" &&
		    kill -0 "$IT_PG_PID" 2>/dev/null; then
			it_write_npmrc
			return 0
		fi
		kill "$IT_PG_PID" 2>/dev/null || true
		wait "$IT_PG_PID" 2>/dev/null || true
		IT_PG_PID=
	done
	it_fail "pubgate serve did not start"
}

# it_workers_flag SERVE-ARGS...: "--workers 1" unless the arguments set
# the workers themselves (--workers, or a -c/--config file with a
# `workers:` line).  `pubgate serve` runs one worker per core by default;
# the tests are written for one process unless they say otherwise
# (workers.sh, workers-metrics.sh, quarantine.sh, webhook.sh,
# detector-cache.sh and tests/cli/notify.py run several).
it_workers_flag() {
	local a prev=
	for a in "$@"; do
		case $prev in
		-c|--config) grep -q '^workers:' "$a" 2>/dev/null && return 0;;
		esac
		case $a in --workers|--workers=*) return 0;; esac
		prev=$a
	done
	echo "--workers 1"
}

# it_stop_pubgate: SIGTERM, then pubgate must exit 0 within 30 s with no
# sanitizer report.
it_stop_pubgate() {
	local i rc=0 pid=$IT_PG_PID
	IT_PG_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		it_log "pubgate did not exit within 30 s of SIGTERM"
		return 1
	fi
	wait "$pid" || rc=$?
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$T/pubgate.err" 2>/dev/null; then
		it_log "sanitizer report in pubgate's stderr:"
		grep -E -A30 'AddressSanitizer|LeakSanitizer|runtime error:' \
		    "$T/pubgate.err" | head -60 >&2
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		it_log "pubgate exited $rc after SIGTERM"
		tail -n 20 "$T/pubgate.err" >&2 || true
		return 1
	fi
	return 0
}

it_write_npmrc() {
	cat >"$T/npmrc" <<EOF
registry=$PG_URL/
cafile=$T/ca.pem
//127.0.0.1:$PG_PORT/:_authToken=$TOKEN
fund=false
audit=false
update-notifier=false
EOF
	# The same user straight at Verdaccio, for setup and checks only.
	cat >"$T/npmrc.direct" <<EOF
registry=$VD_URL/
//127.0.0.1:$VD_PORT/:_authToken=$TOKEN
fund=false
audit=false
update-notifier=false
EOF
}

# it_npm ARGS...: the real npm client through pubgate; output in
# $T/npm.out and $T/npm.err; returns npm's exit code.
it_npm() {
	npm --userconfig "$T/npmrc" "$@" >"$T/npm.out" 2>"$T/npm.err"
}

# it_npm_direct ARGS...: npm straight at Verdaccio (setup, checks).
it_npm_direct() {
	npm --userconfig "$T/npmrc.direct" "$@" >"$T/npm.out" 2>"$T/npm.err"
}

# it_pkg DIR NAME VERSION: a small package that the test policy allows.
it_pkg() {
	local dir=$1
	mkdir -p "$dir/dist"
	cat >"$dir/package.json" <<EOF
{
  "name": "$2",
  "version": "$3",
  "description": "pubgate integration test package",
  "main": "dist/index.js",
  "license": "ISC"
}
EOF
	printf '# %s\n\nA test package.\n' "$2" >"$dir/README.md"
	printf '"use strict";\nmodule.exports = function hello() { return "hello from %s@%s"; };\n' \
	    "$2" "$3" >"$dir/dist/index.js"
}

# it_pgcurl ARGS...: curl to pubgate over TLS with the test CA.
it_pgcurl() {
	curl -sS --cacert "$T/ca.pem" "$@"
}

# it_vd_has NAME VERSION: whether Verdaccio has that version (asked
# directly, not through pubgate).
it_vd_has() {
	local enc=${1/\//%2f} out="$T/vd-packument.json"
	[ "$(curl -s -o "$out" -w '%{http_code}' "$VD_URL/$enc")" = 200 ] ||
	    return 1
	it_json "d.versions && d.versions['$2'] ? 'yes' : undefined" \
	    "$out" >/dev/null
}

# it_pglog ARGS...: `pubgate log` on this test's store.
it_pglog() {
	"$PUBGATE" log --db "$T/pubgate.db" "$@"
}

# it_log_until OUT EXPR WANT CMD...: runs the log query CMD into OUT until
# the expression EXPR over it (as it_json reads it) gives WANT, for up to
# 10 s.  An allowed publish is recorded before it is forwarded, and the
# registry's answer (its status) is written to that record by the store's
# thread while the client already has it (README, "Decision store"), so a
# test that reads the status right after npm returns must wait for it.
# Returns 1 only when CMD fails; the caller's it_expect_eq reports a status
# that never came.
it_log_until() {
	local out=$1 expr=$2 want=$3 i
	shift 3
	for i in $(seq 1 100); do
		"$@" >"$out" || return 1
		[ "$(it_json "$expr" "$out" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.1
	done
	return 0
}

# it_body TGZ NAME VERSION [ACCESS]: writes to stdout the JSON body of an
# npm publish of TGZ, as npm builds it.
it_body() {
	node "$IT_HERE/mkbody.js" "$@"
}
