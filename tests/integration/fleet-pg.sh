#!/bin/bash
# tests/integration/fleet-pg.sh: the fleet of contrib/fleet: a real
# PostgreSQL (tests/pg-lib.sh, Debian's packages), a real HAProxy running
# contrib/fleet/haproxy.cfg, two gates on the same database and real npm.
#  - npm publishes and installs through HAProxy; both gates' health says
#    the store is postgresql and up;
#  - a block made through one gate is in the other gate's admin API and
#    in `pubgate log` on the database;
#  - SIGKILL of gate A in the middle of a publish (gate B held out of
#    rotation so A surely has it; the body sent slowly): nothing reaches
#    the registry; the same publish run again lands on B: one version in
#    the registry, one record with its 201;
#  - PostgreSQL stopped: a publish is 503 with an npm-readable JSON error
#    and reaches nothing, reads and installs still work, health says the
#    store is down, metrics pubgate_store_up 0, the admin API's decision
#    query 503; PostgreSQL started again: publishes work without touching
#    the gates (they reconnect by themselves).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fleet-lib.sh"
it_init
it_need haproxy python3
it_make_ca
it_start_verdaccio
it_adduser alice

SLOW_PID=
IT_ON_EXIT='kill $SLOW_PID 2>/dev/null;'"$IT_ON_EXIT"
fleet_pg fleet-pg

fleet_gate A
fleet_gate B
# HAProxy: the contrib configuration, plus a runtime socket for the test.
fleet_haproxy --sock

# publish_code BODY: the publish body in file BODY through HAProxy with
# curl; prints the status ($T/resp.json holds the answer).
publish_code() {
	it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
	    -H "authorization: Bearer $TOKEN" \
	    -H 'content-type: application/json' \
	    --data-binary "@$1" "$PG_URL/@pgtest%2ffleetpg" || true
}

for g in A B; do
	eval "ap=\$ADMIN_${g}_PORT"
	curl -sS "http://127.0.0.1:$ap/-/pubgate/health" >"$T/health-$g.json"
	it_expect_eq "$(it_json 'd.store.backend' "$T/health-$g.json")" \
	    postgresql "gate $g's store backend"
	it_expect_eq "$(it_json 'd.store.state' "$T/health-$g.json")" up \
	    "gate $g's store state"
done

# A publish and an install through HAProxy.
pkg="$T/ok"
it_pkg "$pkg" @pgtest/fleetpg 1.0.0
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "npm publish through HAProxy failed: $(cat "$T/npm.err")"
it_vd_has @pgtest/fleetpg 1.0.0 || it_fail "Verdaccio lacks 1.0.0"
mkdir -p "$T/app" && echo '{"name":"app","version":"1.0.0"}' >"$T/app/package.json"
(cd "$T/app" && it_npm install @pgtest/fleetpg@1.0.0) ||
    it_fail "npm install through HAProxy failed: $(cat "$T/npm.err")"
[ -f "$T/app/node_modules/@pgtest/fleetpg/dist/index.js" ] ||
    it_fail "installed package missing"

# A block through one gate, seen by the other and by pubgate log.
pkg="$T/leaky"
it_pkg "$pkg" @pgtest/fleetpg-leaky 1.0.0
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
if grep -q "req=$did .*verdict=deny" "$T/gate-A.err"; then
	by=A other=B
elif grep -q "req=$did .*verdict=deny" "$T/gate-B.err"; then
	by=B other=A
else
	it_fail "no gate logged decision $did"
fi
eval "ap=\$ADMIN_${other}_PORT"
curl -sS "http://127.0.0.1:$ap/-/pubgate/decisions?id=$did" \
    >"$T/dec-other.json" || it_fail "admin API of gate $other"
it_expect_eq "$(it_json 'd.length' "$T/dec-other.json")" 1 \
    "gate $other's admin API has gate $by's decision $did"
it_expect_eq "$(it_json 'd[0].verdict' "$T/dec-other.json")" block \
    "verdict in gate $other's admin API"
client=$(it_json 'd[0].client' "$T/dec-other.json")
[[ "$client" == 127.0.0.1:* ]] ||
    it_fail "client (from the PROXY header) in the record: $client"
it_expect_eq "$(it_json 'd[0].user' "$T/dec-other.json")" alice \
    "the npm user name (whoami) in gate $other's admin API"
fleet_log --blocked >"$T/log.txt" || it_fail "pubgate log on PostgreSQL"
it_expect_grep "@pgtest/fleetpg-leaky@1.0.0" "$T/log.txt" \
    "pubgate log lists the block"
it_expect_grep "@pgtest/fleetpg-leaky@1.0.0 user=alice who=" "$T/log.txt" \
    "pubgate log on PostgreSQL names the npm user"

# SIGKILL gate A in the middle of a publish.  B is held out of rotation
# so that A takes it; the body goes at 100 kB/s (about 14 s) and A dies
# after 2 s of it.
it_pkg "$T/big" @pgtest/fleetpg 1.0.1
# First byte not "{": random bytes read as JSON can be undecidable.
head -c 1000000 /dev/urandom | { printf B; tail -c +2; } >"$T/big/dist/blob.bin"
(cd "$T/big" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/pgtest-fleetpg-1.0.1.tgz" @pgtest/fleetpg 1.0.1 restricted \
    >"$T/big.json"
fleet_ha "set server gates/gate-b state maint" >/dev/null
it_pgcurl -o "$T/slow.out" -w '%{http_code}' -X PUT --limit-rate 100k \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/big.json" "$PG_URL/@pgtest%2ffleetpg" \
    >"$T/slow.code" 2>"$T/slow.err" &
SLOW_PID=$!
sleep 2
kill -0 "$SLOW_PID" 2>/dev/null || it_fail "the slow publish ended early"
kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null || true
PID_A=
wait "$SLOW_PID" 2>/dev/null || true
SLOW_PID=
code=$(cat "$T/slow.code")
case "$code" in 2*) it_fail "the publish cut by SIGKILL got $code";; esac
if it_vd_has @pgtest/fleetpg 1.0.1; then
	it_fail "the cut publish reached the registry"
fi
fleet_ha "set server gates/gate-b state ready" >/dev/null
# The client's retry: the same publish again, now on B.
(cd "$T/big" && it_npm publish --access restricted) ||
    it_fail "the retried publish failed: $(cat "$T/npm.err")"
it_vd_has @pgtest/fleetpg 1.0.1 || it_fail "Verdaccio lacks 1.0.1"
it_log_until "$T/log.json" \
    "d.filter(r => r.version === '1.0.1' && r.status === 201).length" 1 \
    fleet_log --json --package @pgtest/fleetpg || it_fail "pubgate log failed"
it_expect_eq "$(it_json "d.filter(r => r.version === '1.0.1' && r.status === 201).length" \
    "$T/log.json")" 1 "one record of 1.0.1 with its 201"
it_expect_eq "$(it_json "d.filter(r => r.version === '1.0.1' && r.status !== 201 && r.status !== 0).length" \
    "$T/log.json")" 0 "no other outcome recorded for 1.0.1"
it_expect_eq "$(it_json "d.filter(r => r.version === '1.0.0').length" \
    "$T/log.json")" 1 "records of 1.0.0"
n=$(it_vd_requests "<-- 201, .*'PUT /@pgtest%2ffleetpg'")
it_expect_eq "$n" 2 "publishes Verdaccio took (1.0.0 and 1.0.1, once each)"

# PostgreSQL stops: publishes 503, reads go on.
pg_stop "$DBD" || it_fail "pg_ctl stop"
for i in $(seq 1 50); do
	curl -sS "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/health" \
	    >"$T/health.json"
	[ "$(it_json 'd.store.state' "$T/health.json")" = up ] || break
	sleep 0.1
done
it_expect_eq "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/health")" 200 \
    "health stays 200 (reads are served)"
it_expect_eq "$(it_json 'd.store.publishes' "$T/health.json")" \
    "refused (503)" "health says publishes are refused"
curl -sS "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/metrics" >"$T/metrics.txt"
it_expect_grep '^pubgate_store_up{backend="postgresql"} 0$' \
    "$T/metrics.txt" "metrics say the store is down"
it_pkg "$T/down" @pgtest/fleetpg 1.0.2
(cd "$T/down" && npm pack --silent --pack-destination "$T" >/dev/null)
it_body "$T/pgtest-fleetpg-1.0.2.tgz" @pgtest/fleetpg 1.0.2 restricted \
    >"$T/down.json"
code=$(publish_code "$T/down.json")
it_expect_eq "$code" 503 "a publish while PostgreSQL is down"
it_expect_grep 'could not be recorded' "$T/resp.json" "the 503 says why"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the 503 body has no JSON \"error\""
if it_vd_has @pgtest/fleetpg 1.0.2; then
	it_fail "1.0.2 reached the registry"
fi
set +e
(cd "$T/down" && it_npm publish --access restricted --fetch-retries=0)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "npm publish succeeded with the store down"
it_expect_grep 'could not be recorded' "$T/npm.err" \
    "npm prints the store's 503"
code=$(it_pgcurl -o /dev/null -w '%{http_code}' "$PG_URL/@pgtest%2ffleetpg")
it_expect_eq "$code" 200 "a read while PostgreSQL is down"
rm -rf "$T/app2" && mkdir -p "$T/app2" &&
    echo '{"name":"app2","version":"1.0.0"}' >"$T/app2/package.json"
(cd "$T/app2" && it_npm install --prefer-online @pgtest/fleetpg@1.0.1) ||
    it_fail "npm install while PostgreSQL is down: $(cat "$T/npm.err")"
[ -f "$T/app2/node_modules/@pgtest/fleetpg/dist/blob.bin" ] ||
    it_fail "installed 1.0.1 missing"
it_expect_eq "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/decisions?limit=1")" 503 \
    "the admin API's query while PostgreSQL is down"

# PostgreSQL starts again: the gate reconnects by itself.
pg_restart "$DBD" || it_fail "pg_ctl start"
for i in $(seq 1 100); do
	curl -sS "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/health" \
	    >"$T/health.json"
	[ "$(it_json 'd.store.state' "$T/health.json")" = up ] && break
	sleep 0.1
done
it_expect_eq "$(it_json 'd.store.state' "$T/health.json")" up \
    "the store is up again without a restart"
(cd "$T/down" && it_npm publish --access restricted) ||
    it_fail "publish after PostgreSQL came back: $(cat "$T/npm.err")"
it_vd_has @pgtest/fleetpg 1.0.2 || it_fail "Verdaccio lacks 1.0.2"
it_log_until "$T/log.json" \
    "d.filter(r => r.version === '1.0.2' && r.status === 201).length" 1 \
    fleet_log --json --package @pgtest/fleetpg || it_fail "pubgate log failed"
it_expect_eq "$(it_json "d.filter(r => r.version === '1.0.2' && r.status === 201).length" \
    "$T/log.json")" 1 "1.0.2 recorded once, with its 201"
curl -sS "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/metrics" >"$T/metrics.txt"
it_expect_grep '^pubgate_store_reconnects_total [1-9]' "$T/metrics.txt" \
    "metrics count the reconnection"
kill -TERM "$PID_B" && wait "$PID_B" || it_fail "gate B did not exit 0"
PID_B=
it_log "ok"
