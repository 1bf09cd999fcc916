#!/bin/bash
# tests/integration/fleet-haproxy.sh: contrib/fleet/haproxy.cfg run by a
# real HAProxy in front of two pubgate gates (PROXY protocol v2 to their
# TLS listeners, health checks on their admin listeners).  The gates
# share one store (the SQLite file both use on this host).  npm publishes
# and installs through HAProxy; a block made through either gate is in
# the other's admin API; the client's address (not HAProxy's) is in the
# records; after SIGKILL of gate A, HAProxy takes it out and publishes
# and installs land on gate B, each recorded once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fleet-lib.sh"
it_init
it_need haproxy
it_make_ca
it_start_verdaccio
it_adduser alice
# The gates' shared store: a SQLite file on this host.
DB_URL=$T/pubgate.db
fleet_gate A
fleet_gate B
fleet_haproxy

# Reads through HAProxy reach both gates (round robin).
for i in $(seq 1 6); do
	[ "$(it_pgcurl -o /dev/null -w '%{http_code}' "$PG_URL/-/ping")" = 200 ] ||
	    it_fail "read $i through HAProxy"
done
it_expect_grep 'req=' "$T/gate-A.err" "gate A served a read"
it_expect_grep 'req=' "$T/gate-B.err" "gate B served a read"

# A publish and an install through HAProxy.
pkg="$T/ok"
it_pkg "$pkg" @pgtest/fleet 1.0.0
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "npm publish through HAProxy failed: $(cat "$T/npm.err")"
it_vd_has @pgtest/fleet 1.0.0 || it_fail "Verdaccio lacks @pgtest/fleet"
mkdir -p "$T/app" && echo '{"name":"app","version":"1.0.0"}' >"$T/app/package.json"
(cd "$T/app" && it_npm install @pgtest/fleet@1.0.0) ||
    it_fail "npm install through HAProxy failed: $(cat "$T/npm.err")"
[ -f "$T/app/node_modules/@pgtest/fleet/dist/index.js" ] ||
    it_fail "installed package missing"

# A blocked publish (a leaking source map) through HAProxy: whichever gate
# took it, both admin APIs show the same decision.
pkg="$T/leaky"
it_pkg "$pkg" @pgtest/fleet-leaky 1.0.0
printf '//# sourceMappingURL=index.js.map\n' >>"$pkg/dist/index.js"
printf '{"version":3,"sources":["../src/index.ts"],"sourcesContent":["export const secret = 1;\\n"],"mappings":"AAAA"}\n' \
    >"$pkg/dist/index.js.map"
set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "leaking publish succeeded through HAProxy"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
did=$(grep -oE 'decision [0-9a-f]+-[0-9]+' "$T/npm.err" | head -1 | cut -d' ' -f2)
[ -n "$did" ] || it_fail "no decision id in npm's output"
for g in A B; do
	eval "ap=\$ADMIN_${g}_PORT"
	curl -sS "http://127.0.0.1:$ap/-/pubgate/decisions?id=$did" \
	    >"$T/dec-$g.json" || it_fail "admin API of gate $g"
	it_expect_eq "$(it_json 'd.length' "$T/dec-$g.json")" 1 \
	    "gate $g's admin API has decision $did"
	it_expect_eq "$(it_json 'd[0].verdict' "$T/dec-$g.json")" block \
	    "verdict in gate $g's admin API"
	client=$(it_json 'd[0].client' "$T/dec-$g.json")
	[[ "$client" == 127.0.0.1:* ]] ||
	    it_fail "client in gate $g's record: $client (want 127.0.0.1:port)"
done

# SIGKILL gate A: HAProxy's checks take it out; publishes land on B.
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null || true
PID_A=
for v in 1.0.1 1.0.2 1.0.3; do
	pkg="$T/after-$v"
	it_pkg "$pkg" @pgtest/fleet "$v"
	(cd "$pkg" && it_npm publish --access restricted) ||
	    it_fail "publish $v after gate A died: $(cat "$T/npm.err")"
	it_vd_has @pgtest/fleet "$v" || it_fail "Verdaccio lacks $v"
done
it_pglog --json --package '@pgtest/fleet' >"$T/log.json" ||
    it_fail "pubgate log failed"
for v in 1.0.0 1.0.1 1.0.2 1.0.3; do
	it_expect_eq "$(it_json "d.filter(r => r.version === '$v').length" \
	    "$T/log.json")" 1 "records of @pgtest/fleet@$v"
done
(cd "$T/app" && it_npm install @pgtest/fleet@1.0.3) ||
    it_fail "npm install after gate A died: $(cat "$T/npm.err")"
kill -TERM "$PID_B" && wait "$PID_B" || it_fail "gate B did not exit 0"
PID_B=
it_log "ok"
