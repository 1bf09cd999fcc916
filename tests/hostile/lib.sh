# tests/hostile/lib.sh: helpers of the hostile-publish suite, sourced by
# run.sh after tests/integration/lib.sh and egress-lib.sh.  Owns:
#
#   hc_start           the suite's one Verdaccio + pubgate (egress too),
#                      with tap.js counting what goes between them;
#   hc_pkg, hc_pack    a clean package and its `npm pack` tarball;
#   hc_send            one raw request to pubgate (reverse or egress) with
#                      curl, tagged with the case's User-Agent; it counts
#                      the bytes pubgate sent upstream meanwhile (tap.js);
#   hc_expect_refused  the case's verdict: the status, nothing forwarded,
#                      and a block in the decision log with the rule;
#   hc_vd_nothing      Verdaccio has no such package (or version);
#   hc_oracle_put      the same bytes sent straight to Verdaccio are
#                      stored: the payload is a real attack, not a typo.
#
# Each case runs in its own subshell with HC_CASE (its name), HC_UA (the
# User-Agent its requests carry, how its decision records are found) and
# HC_D, its own directory.

hc_fail() {
	it_fail "$@"
}

# hc_start [ARGS...]: egress-lib's eg_start, with tap.js between pubgate
# and Verdaccio (for the reverse and the egress listener alike): the test
# CA, Verdaccio serving TLS as registry.npmjs.org, alice, pubgate.
hc_start() {
	local i
	it_make_ca
	eg_make_ca
	it_cert registry "DNS:registry.npmjs.org,IP:127.0.0.1" ca
	it_start_verdaccio registry
	it_adduser alice
	HC_TAP_PORT=$(it_free_port)
	node "$HC_HERE/tap.js" "$HC_TAP_PORT" "$VD_PORT" "$T/tap.count" &
	IT_PIDS+=("$!")
	for i in $(seq 1 100); do
		[ -e "$T/tap.count.ready" ] && break
		sleep 0.1
	done
	[ -e "$T/tap.count.ready" ] || it_fail "tap.js did not start"
	EG_PORT=$(it_free_port)
	EG_URL="http://127.0.0.1:$EG_PORT"
	UPSTREAM="https://127.0.0.1:$HC_TAP_PORT" it_start_pubgate \
	    --upstream-ca "$T/ca.pem" --egress-listen "$EG_URL" \
	    --ca-cert "$T/eg/int.pem" --ca-key "$T/eg/int.key" \
	    --intercept "registry.npmjs.org=127.0.0.1:$HC_TAP_PORT" "$@"
	eg_write_npmrc
}

# hc_vd_curl ARGS...: curl straight at Verdaccio (TLS, test CA).
hc_vd_curl() {
	curl -sS --cacert "$T/ca.pem" "$@"
}

# hc_upstream_bytes: the bytes pubgate has sent to Verdaccio so far
# (tap.js counts them as they arrive, before passing them on).
hc_upstream_bytes() {
	cut -d' ' -f2 "$T/tap.count"
}

# hc_enc NAME: NAME as a URL path segment (@scope%2fname).
hc_enc() {
	printf '%s' "${1/\//%2f}"
}

# hc_pkg DIR NAME VERSION: a clean package (it_pkg) the policy allows.
hc_pkg() {
	it_pkg "$@"
}

# hc_pack DIR: npm pack of DIR into $HC_D; prints the tarball's path.
hc_pack() {
	local f
	f=$(cd "$1" && npm pack --silent --pack-destination "$HC_D") ||
	    hc_fail "npm pack of $1 failed"
	printf '%s/%s\n' "$HC_D" "$(printf '%s' "$f" | tail -n 1)"
}

# hc_body TGZ NAME VERSION: the body npm would send for TGZ (mkbody.js).
hc_body() {
	it_body "$1" "$2" "$3" restricted
}

# hc_send METHOD PATH [FILE [CONTENT-TYPE [CURLARGS...]]]: one request to
# pubgate's reverse listener (HC_EGRESS=1: to https://registry.npmjs.org
# through the egress listener) with the bearer token and HC_UA.  Sets
# HC_STATUS (000 if there was no HTTP answer), HC_RESP (the body's file)
# and HC_VD_DELTA (bytes pubgate sent to Verdaccio meanwhile).
hc_send() {
	local method=$1 path=$2 file=${3:-} ct=${4:-application/json}
	local before args=()
	shift 4 2>/dev/null || shift $#
	HC_RESP="$HC_D/resp.$RANDOM"
	args=(-o "$HC_RESP" -w '%{http_code}' --max-time 60 -X "$method"
	    -A "$HC_UA" -H "authorization: Bearer $TOKEN")
	if [ -n "$file" ]; then
		args+=(-H "content-type: $ct" --data-binary "@$file")
	fi
	before=$(hc_upstream_bytes)
	if [ "${HC_EGRESS:-0}" = 1 ]; then
		HC_STATUS=$(eg_curl "${args[@]}" "$@" \
		    "https://registry.npmjs.org$path" 2>"$HC_D/curl.err") || true
	else
		HC_STATUS=$(it_pgcurl "${args[@]}" "$@" "$PG_URL$path" \
		    2>"$HC_D/curl.err") || true
	fi
	[ -n "$HC_STATUS" ] || HC_STATUS=000
	HC_VD_DELTA=$(($(hc_upstream_bytes) - before))
	it_log "$method $path -> $HC_STATUS $(head -c 300 "$HC_RESP" 2>/dev/null | tr '\n' ' ')"
}

# hc_log_json: the decision records of this case (its User-Agent), newest
# first, into $HC_D/log.json.
hc_log_json() {
	it_pglog --json --limit 10000 >"$HC_D/log.all.json" ||
	    hc_fail "pubgate log failed"
	node -e '
		const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		process.stdout.write(JSON.stringify(d.filter(r =>
		    r.user_agent === process.argv[2])));
	' "$HC_D/log.all.json" "$HC_UA" >"$HC_D/log.json"
}

# hc_expect_logged RULE-REGEX STATUS: a block record of this case, with
# that status and a reason whose rule matches the (anchored) regex.
hc_expect_logged() {
	local rx=$1 status=$2 got
	hc_log_json
	got=$(node -e '
		const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const rx = new RegExp("^(?:" + process.argv[2] + ")$");
		const st = +process.argv[3];
		const hit = d.find(r => r.verdict === "block" &&
		    r.status === st && r.reasons.some(x => rx.test(x.rule)));
		if (hit) {
			console.log("ok " + hit.reasons.map(x => x.rule).join(","));
		} else {
			console.log("none: " + JSON.stringify(d.map(r =>
			    [r.verdict, r.status, r.reasons.map(x => x.rule)])));
		}
	' "$HC_D/log.json" "$rx" "$status")
	case "$got" in
	ok*)	it_log "decision log: block $status ${got#ok }" ;;
	*)	hc_fail "no block record with status $status and rule /$rx/ for $HC_UA: ${got#none: }" ;;
	esac
}

# hc_expect_refused STATUS-REGEX RULE-REGEX: the last hc_send was refused
# with a matching status, nothing reached Verdaccio, and the decision log
# has the block with a matching rule.
hc_expect_refused() {
	local srx=$1 rrx=$2
	[[ "$HC_STATUS" =~ ^($srx)$ ]] ||
	    hc_fail "status $HC_STATUS, want /$srx/: $(head -c 400 "$HC_RESP" 2>/dev/null)"
	[ "$HC_VD_DELTA" -eq 0 ] ||
	    hc_fail "pubgate sent $HC_VD_DELTA bytes to Verdaccio meanwhile"
	hc_expect_logged "$rrx" "$HC_STATUS"
}

# hc_vd_nothing NAME [VERSION]: Verdaccio (asked directly) has no
# packument for NAME (or, given VERSION, not that version) and no file
# under its storage for NAME.
hc_vd_nothing() {
	local name=$1 ver=${2:-} code out="$HC_D/vd-packument.json"
	code=$(hc_vd_curl -o "$out" -w '%{http_code}' \
	    "$VD_URL/$(hc_enc "$name")") || true
	if [ -z "$ver" ]; then
		[ "$code" = 404 ] ||
		    hc_fail "Verdaccio answers $code for $name, want 404"
		[ ! -e "$T/verdaccio/storage/$name" ] ||
		    hc_fail "Verdaccio stored files for $name"
		return 0
	fi
	if [ "$code" = 200 ] && it_json "d.versions && d.versions['$ver'] ? 'yes' : undefined" "$out" >/dev/null; then
		hc_fail "Verdaccio has $name@$ver"
	fi
}

# hc_vd_has NAME VERSION: Verdaccio (asked directly) has NAME@VERSION.
hc_vd_has() {
	local out="$HC_D/vd-packument.json"
	[ "$(hc_vd_curl -o "$out" -w '%{http_code}' \
	    "$VD_URL/$(hc_enc "$1")")" = 200 ] || return 1
	it_json "d.versions && d.versions['$2'] ? 'yes' : undefined" \
	    "$out" >/dev/null
}

# hc_oracle_put METHOD PATH FILE CONTENT-TYPE [CURLARGS...]: the same
# request straight to Verdaccio must be accepted (2xx): the payload is
# one the registry stores.  Run after every check on the gate.
hc_oracle_put() {
	local method=$1 path=$2 file=$3 ct=$4 code
	shift 4
	code=$(hc_vd_curl -o "$HC_D/oracle.out" -w '%{http_code}' \
	    --max-time 60 -X "$method" -H "authorization: Bearer $TOKEN" \
	    -H "content-type: $ct" --data-binary "@$file" "$@" \
	    "$VD_URL$path") || true
	[[ "$code" =~ ^2 ]] ||
	    hc_fail "oracle: Verdaccio refuses the payload itself ($code: $(head -c 300 "$HC_D/oracle.out")); the case proves nothing"
	it_log "oracle: Verdaccio accepts the payload sent directly ($code)"
}

# hc_leaky_pkg DIR NAME VERSION: a package the policy blocks when it sees
# it: dist/index.js.map embeds the TypeScript source (sourcesContent).
hc_leaky_pkg() {
	hc_pkg "$@"
	printf '"use strict";module.exports=1;\n//# sourceMappingURL=index.js.map\n' \
	    >"$1/dist/index.js"
	printf '%s\n' '{"version":3,"file":"index.js","sources":["../src/index.ts"],"sourcesContent":["export const internalOnly = 1;\n"],"names":[],"mappings":"AAAA"}' \
	    >"$1/dist/index.js.map"
}

# hc_leaky_body NAME VERSION: $HC_D/body.json, the publish body of a
# leaky package (hc_leaky_pkg), as npm would send it.
hc_leaky_body() {
	local tgz
	hc_leaky_pkg "$HC_D/pkg" "$1" "$2"
	tgz=$(hc_pack "$HC_D/pkg")
	hc_body "$tgz" "$1" "$2" >"$HC_D/body.json"
}

# hc_xform MODE [ARG]: $HC_D/body.json rewritten by body.js into
# $HC_D/body.MODE.
hc_xform() {
	node "$HC_HERE/body.js" "$1" "$HC_D/body.json" "$HC_D/body.$1" \
	    "${2:-}" || hc_fail "body.js $1 failed"
}

# hc_npm_install_direct NAME: npm installs NAME straight from Verdaccio
# (not through the gate) into $HC_D/app.
hc_npm_install_direct() {
	mkdir -p "$HC_D/app"
	printf '{"name":"app","version":"1.0.0","private":true}\n' \
	    >"$HC_D/app/package.json"
	(cd "$HC_D/app" && npm install --registry "$VD_URL/" \
	    --cafile "$T/ca.pem" --userconfig "$T/npmrc.direct" "$1" \
	    >"$HC_D/npm-direct.out" 2>&1) ||
	    hc_fail "oracle: npm install $1 from Verdaccio failed: $(tail -5 "$HC_D/npm-direct.out")"
}
