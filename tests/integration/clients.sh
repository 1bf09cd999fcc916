#!/bin/bash
# tests/integration/clients.sh: the clients people use install a real
# dependency tree through the gate (issue 9).  The tree is express and
# everything it depends on, as installed in tests/integration/node_modules
# (tree.js packs each name@version there and publishes it to a Verdaccio
# that proxies nothing, 50 packages or more).  npm, pnpm (network
# concurrency 64), yarn 1, yarn 4 and bun each install it through the
# gate (TLS, test CA) twice, cold then with a warm cache, and once
# straight from Verdaccio.  For every install through the gate:
#   - the client exits 0 and says nothing of a retry or a network error;
#   - the gate's access log has no 5xx answer;
#   - some packuments went to the client gzip-encoded (enc=gzip);
#   - the lockfile's integrity hashes are those of the direct install.
# Also prints the bytes on the wire of a cold npm install through the gate
# and straight from Verdaccio (a counting TCP relay in front of each).
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

t0=$(date +%s)
n=$(node "$IT_HERE/tree.js" "$T/tree" "$VD_URL" "$TOKEN" express) ||
    it_fail "could not publish the tree to Verdaccio"
[ "$n" -ge 50 ] || it_fail "the tree has $n packages, not 50 or more"
it_log "published $n packages to Verdaccio in $(($(date +%s) - t0)) s"
express=$(it_json 'd.version' "$IT_HERE/node_modules/express/package.json")

YARN1="$IT_HERE/node_modules/yarn1/bin/yarn.js"
YARN4="$IT_HERE/node_modules/@yarnpkg/cli-dist/bin/yarn.js"
PNPM="$IT_HERE/node_modules/pnpm/bin/pnpm.cjs"
# Bun's baseline build (no AVX2 needed) on every x86-64 machine: the same
# binary here and in CI.
BUN="$IT_HERE/node_modules/@oven/bun-linux-x64-baseline/bin/bun"
for f in "$YARN1" "$YARN4" "$PNPM" "$BUN"; do
	[ -f "$f" ] || it_fail "missing $f: run tests/integration/install.sh"
done
"$BUN" --version >/dev/null || it_fail "$BUN does not run on this machine"
export CI=1 YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_PROGRESS_BARS=0
export DO_NOT_TRACK=1

# relay_start TARGET_PORT NAME: a counting relay; sets RELAY_PORT.
relay_start() {
	rm -f "$T/relay-$2.port"
	node "$IT_HERE/relay.js" "$1" "$T/relay-$2.port" "$T/relay-$2.count" &
	IT_PIDS+=("$!")
	eval "RELAY_PID_$2=$!"
	for _ in $(seq 1 100); do
		[ -s "$T/relay-$2.port" ] && break
		sleep 0.1
	done
	RELAY_PORT=$(cat "$T/relay-$2.port")
}

# relay_bytes NAME: stops the relay, prints the bytes it carried.  It runs
# in $(...), a subshell that cannot wait for the relay: the count file is
# awaited instead (the relay writes it on SIGTERM, in one write).
relay_bytes() {
	local pid
	eval "pid=\$RELAY_PID_$1"
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		[ -s "$T/relay-$1.count" ] && break
		sleep 0.1
	done
	[ -s "$T/relay-$1.count" ] ||
	    it_fail "the $1 relay wrote no byte count in 10 s"
	awk '{ print $1 + $2 }' "$T/relay-$1.count"
}

# install CLIENT VIA RUN URL: a fresh project depending on express, its
# cache $T/cache-CLIENT-VIA kept between runs; the client's output in
# $T/out-CLIENT-VIA-RUN.  VIA is gate (TLS, test CA) or direct.
install() {
	local client=$1 via=$2 run=$3 url=$4 ca='' rc=0
	local p="$T/p-$client-$via-$run" c="$T/cache-$client-$via"
	local o="$T/out-$client-$via-$run"
	[ "$via" = gate ] && ca=$T/ca.pem
	rm -rf "$p"
	mkdir -p "$p" "$c"
	printf '{"name":"app","version":"1.0.0","private":true,"dependencies":{"express":"%s"}}\n' \
	    "$express" >"$p/package.json"
	case $client in
	npm)
		printf 'registry=%s/\n%s\n' "$url" "${ca:+cafile=$ca}" >"$p/.npmrc"
		(cd "$p" && npm install --cache "$c" --no-audit --no-fund) \
		    >"$o" 2>&1 || rc=$?
		;;
	pnpm)
		printf '%s\n' "registry=$url/" "${ca:+cafile=$ca}" \
		    "network-concurrency=64" "store-dir=$c/store" \
		    "cache-dir=$c/cache" >"$p/.npmrc"
		(cd "$p" && node "$PNPM" install --reporter=append-only) \
		    >"$o" 2>&1 || rc=$?
		;;
	yarn1)
		printf 'registry "%s/"\n%s\n' "$url" "${ca:+cafile \"$ca\"}" \
		    >"$p/.yarnrc"
		(cd "$p" && node "$YARN1" install --cache-folder "$c" \
		    --non-interactive --no-progress) >"$o" 2>&1 || rc=$?
		;;
	yarn4)
		touch "$p/yarn.lock"
		{
			echo "npmRegistryServer: \"$url\""
			[ -z "$ca" ] || echo "httpsCaFilePath: \"$ca\""
			echo 'unsafeHttpWhitelist: ["127.0.0.1"]'
			# Its own metadata cache and mirror, not the other runs'.
			echo "globalFolder: \"$c/global\""
			echo "enableGlobalCache: false"
			echo "cacheFolder: \"$c\""
			echo "nodeLinker: node-modules"
			echo "enableImmutableInstalls: false"
			echo "enableTelemetry: false"
			# Yarn 4 holds back releases younger than a day by
			# default; this tree was published seconds ago.
			echo "npmMinimalAgeGate: 0"
		} >"$p/.yarnrc.yml"
		(cd "$p" && node "$YARN4" install) >"$o" 2>&1 || rc=$?
		;;
	bun)
		{
			echo '[install]'
			echo "registry = \"$url/\""
			[ -z "$ca" ] || echo "cafile = \"$ca\""
			echo 'saveTextLockfile = true'
			echo '[install.cache]'
			echo "dir = \"$c\""
			# Bun trusts a cached packument for minutes without
			# asking: have it ask the gate again, as npm does, so
			# the warm run still goes through it (tarballs come
			# from the cache).
			echo 'disableManifest = true'
		} >"$p/bunfig.toml"
		(cd "$p" && "$BUN" install --no-progress) >"$o" 2>&1 || rc=$?
		;;
	esac
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$o" >&2
		it_fail "$client ($via, $run) exited $rc"
	fi
	[ -f "$p/node_modules/express/package.json" ] ||
	    it_fail "$client ($via, $run) did not install express"
	if grep -Eqi 'retr(y|ies|ying)|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|trouble with your network' "$o"; then
		grep -Ei 'retr|ECONN|ETIMEDOUT|EAI_AGAIN|hang up|trouble' "$o" |
		    head -5 >&2
		it_fail "$client ($via, $run): retries or network errors"
	fi
}

# hashes CLIENT DIR: the sorted integrity hashes of DIR's lockfile.
hashes() {
	case $1 in
	npm) grep -oE 'sha512-[A-Za-z0-9+/=]+' "$2/package-lock.json" ;;
	pnpm) grep -oE 'sha512-[A-Za-z0-9+/=]+' "$2/pnpm-lock.yaml" ;;
	yarn1) grep -oE 'sha512-[A-Za-z0-9+/=]+' "$2/yarn.lock" ;;
	yarn4) grep -oE 'checksum: [0-9a-z]+/[0-9a-f]+' "$2/yarn.lock" ;;
	bun) grep -oE 'sha512-[A-Za-z0-9+/=]+' "$2/bun.lock" ;;
	esac | sort -u
}

# access_lines: the gate's access log lines so far.
access_lines() {
	cat "$T/pubgate.err" "$T/pubgate.out" 2>/dev/null |
	    grep -E 'conn=[0-9]+ req=.* status=' || true
}

all_hits=0
for client in npm pnpm yarn1 yarn4 bun; do
	s0=$(date +%s)
	# Straight from Verdaccio: the reference lockfile.  npm's cold
	# install, here and through the gate, goes through a counting relay.
	if [ "$client" = npm ]; then
		relay_start "$VD_PORT" direct
		install npm direct cold "http://127.0.0.1:$RELAY_PORT"
		direct_bytes=$(relay_bytes direct)
	else
		install "$client" direct cold "$VD_URL"
	fi
	hashes "$client" "$T/p-$client-direct-cold" >"$T/hashes-$client-direct"
	nh=$(wc -l <"$T/hashes-$client-direct")
	[ "$nh" -ge "$n" ] ||
	    it_fail "$client: $nh hashes in the direct lockfile, want $n"
	for run in cold warm; do
		before=$(access_lines | wc -l)
		if [ "$client" = npm ] && [ "$run" = cold ]; then
			relay_start "$PG_PORT" gate
			install npm gate cold "https://127.0.0.1:$RELAY_PORT"
			gate_bytes=$(relay_bytes gate)
		else
			install "$client" gate "$run" "$PG_URL"
		fi
		access_lines | tail -n +"$((before + 1))" >"$T/access-$client-$run"
		reqs=$(wc -l <"$T/access-$client-$run")
		[ "$reqs" -gt 0 ] ||
		    it_fail "$client ($run): no request reached the gate"
		if grep -E 'status=5[0-9][0-9]' "$T/access-$client-$run" >&2; then
			it_fail "$client ($run): 5xx answers in the gate's log"
		fi
		gz=$(grep -c 'enc=gzip' "$T/access-$client-$run" || true)
		# A warm cache may revalidate every packument (304, no body).
		if [ "$run" = cold ] && [ "$gz" -eq 0 ]; then
			it_fail "$client ($run): no packument went out gzip"
		fi
		hashes "$client" "$T/p-$client-gate-$run" >"$T/hashes-$client-gate"
		cmp -s "$T/hashes-$client-direct" "$T/hashes-$client-gate" || {
			diff "$T/hashes-$client-direct" "$T/hashes-$client-gate" |
			    head -10 >&2
			it_fail "$client ($run): lockfile hashes differ from the direct install"
		}
		hits=$(grep -c 'cache=hit' "$T/access-$client-$run" || true)
		all_hits=$((all_hits + hits))
		it_log "$client ($run): exit 0, $reqs requests, no 5xx, $gz gzip answers, $hits from the packument cache, $nh lockfile hashes as direct"
	done
	it_log "$client: $(($(date +%s) - s0)) s for the three installs"
done

# Later clients' cold installs ask for packuments the earlier ones had
# rewritten: revalidated (304 from Verdaccio) and sent from the cache, with
# the lockfile hashes above equal to a direct install's.
[ "$all_hits" -gt 0 ] ||
    it_fail "no packument was sent from the packument cache"
it_log "$all_hits packuments sent from the packument cache (revalidated)"

case "$direct_bytes/$gate_bytes" in
[1-9]*/[1-9]*) ;;
*) it_fail "no byte count from the relays (direct '$direct_bytes', gate '$gate_bytes')" ;;
esac
pct=$(awk -v g="$gate_bytes" -v d="$direct_bytes" \
    'BEGIN { printf "%+.1f", (g - d) * 100 / d }')
it_log "bytes on the wire, cold npm install of $n packages: through the gate (TLS) $gate_bytes, direct (plain HTTP) $direct_bytes, $pct% (goal within 5%)"
# Packuments sent plain would cost several times more; TLS framing and
# handshakes are a few percent.
awk -v g="$gate_bytes" -v d="$direct_bytes" 'BEGIN { exit !(g <= d * 1.25) }' ||
    it_fail "the gate moved $pct% more bytes than a direct install"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
