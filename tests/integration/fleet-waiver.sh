#!/bin/bash
# tests/integration/fleet-waiver.sh: waivers on a fleet (issues 10 and
# 11): a real PostgreSQL (tests/pg-lib.sh), a real HAProxy running
# contrib/fleet/haproxy.cfg, two gates on the one database, real npm.
#  - a publish blocked through gate A (B held out of rotation) is approved
#    through gate B's admin API (POST /-/pubgate/waivers, 201) and listed
#    by gate A's; the same tarball published again through HAProxy (now
#    on B, A held out) passes, npm prints the waiver, one waiver-use
#    record, the publish recorded allowed with its 201;
#  - a once waiver raced by eight publishes of its tarball sent at once,
#    four straight to each gate (PROXY protocol, as HAProxy sends it):
#    one passes, seven are refused, the waiver has one use, one
#    waiver-use record, Verdaccio took the version once;
#  - revoke through the admin API (200, then 404 for the same waiver);
#  - approval: required: a clean publish waits (403 with its decision),
#    is approved through the other gate and then passes;
#  - PostgreSQL stopped: the waivers' list and an approval answer 503 and
#    a waivable blocked publish is 503 (the lookup fails closed), nothing
#    forwarded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fleet-lib.sh"
it_init
it_need haproxy python3
it_make_ca
it_start_verdaccio
it_adduser alice
IT_POLICY="$T/policy.yaml"
cp "$IT_HERE/policy.yaml" "$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pgwaive/*"
    publish: allow
    access: restricted
    files:
      deny: ["**/*.pem"]
  - match: "@pgappr/*"
    publish: allow
    access: restricted
    approval: required
YAML

fleet_pg fleet-waiver
fleet_gate A
fleet_gate B
fleet_haproxy --sock

# only G: HAProxy sends everything to gate G (the other in maintenance).
only() {
	local g h
	for g in a b; do
		h=ready
		[ "$g" = "$1" ] || h=maint
		fleet_ha "set server gates/gate-$g state $h" >/dev/null
	done
}
pack() {
	local f
	f=$(cd "$T" && npm pack "$1" 2>/dev/null | tail -1)
	[ -n "$f" ] && [ -f "$T/$f" ] || it_fail "npm pack $1"
	mv "$T/$f" "$T/$2.tgz"
	echo "$2.tgz"
}
publish() {
	set +e
	(cd "$T" && it_npm publish --access restricted "$T/$1")
	rc=$?
	set -e
}
decision_of() {
	grep -Eo 'decision [0-9a-f]{8}-[0-9]+' "$1" | head -1 | cut -d' ' -f2
}
# admin G CURLARGS...: a request to gate G's admin API; prints the status
# ($T/admin.json holds the answer).
admin() {
	local g=$1 port
	shift
	eval "port=\$ADMIN_${g}_PORT"
	curl -sS -o "$T/admin.json" -w '%{http_code}' "$@" \
	    "http://127.0.0.1:$port/-/pubgate/waivers${ADMIN_PATH:-}" || true
}
# approve G DECISION [FIELDS]: POST an approval to gate G's admin API.
approve() {
	admin "$1" -X POST -H 'content-type: application/x-www-form-urlencoded' \
	    --data "decision=$2&reason=fixture%2C+not+a+key+%28SEC-42%29&by=bob${3:-}"
}

# 1. Blocked through gate A.
only a
pkg="$T/a"
it_pkg "$pkg" @pgwaive/a 1.0.0
printf 'not a key, a test fixture\n' >"$pkg/dist/fixture.pem"
tgz_a=$(pack "$pkg" a)
publish "$tgz_a"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused"
it_expect_grep 'files\.deny' "$T/npm.err" "the 403 names the rule"
id=$(decision_of "$T/npm.err")
[ -n "$id" ] || it_fail "npm's output names no decision id"
it_expect_grep "req=$id .*verdict=deny" "$T/gate-A.err" "gate A judged it"

# 2. Approved through gate B's admin API, listed by gate A's.
code=$(approve B "$id")
it_expect_eq "$code" 201 "approval through gate B's admin API ($(cat "$T/admin.json"))"
wid=$(it_json 'd.id' "$T/admin.json")
it_expect_eq "$(it_json 'd.state' "$T/admin.json")" active "the waiver's state"
it_expect_eq "$(it_json 'd.sha512' "$T/admin.json")" "$(it_sha512 "$T/$tgz_a")" \
    "the waiver names the tarball's sha512"
it_expect_eq "$(admin A)" 200 "gate A's list of waivers"
it_expect_eq "$(it_json "d.filter(w => w.id === $wid && w.approved_by === 'bob').length" \
    "$T/admin.json")" 1 "gate A lists the waiver gate B made"
it_expect_eq "$(approve B "0000dead-1")" 404 "approval of an unknown decision"
it_expect_eq "$(approve B "$id" '&expires=nope')" 400 "a bad expires"

# 3. The same tarball through HAProxy, now on gate B: passes.
only b
publish "$tgz_a"
[ "$rc" -eq 0 ] || it_fail "the approved tarball was refused: $(cat "$T/npm.err")"
it_vd_has @pgwaive/a 1.0.0 || it_fail "Verdaccio does not have @pgwaive/a"
it_expect_grep "npm notice pubgate: @pgwaive/a@1\.0\.0 was let through by waiver $wid \(approved by bob for decision $id" \
    "$T/npm.err" "npm prints the waiver"
it_expect_grep "event=waiver-used waiver=$wid" "$T/gate-B.err" \
    "gate B used the waiver"
it_log_until "$T/log.json" \
    "d.filter(r => r.kind === 'publish' && r.verdict === 'allow' && r.status === 201).length" \
    1 fleet_log --json --package @pgwaive/a || it_fail "pubgate log failed"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-use').length" \
    "$T/log.json")" 1 "one waiver-use record"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-approve' && /approved by bob/.test(r.reasons[0].text) && /SEC-42/.test(r.message)).length" \
    "$T/log.json")" 1 "the approval record says who and why"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'publish' && r.verdict === 'allow' && r.status === 201).length" \
    "$T/log.json")" 1 "the publish is recorded allowed, with its 201"

# 4. A once waiver raced by eight publishes, four on each gate.
only a
it_pkg "$T/r" @pgwaive/r 1.0.0
printf 'another fixture\n' >"$T/r/dist/fixture.pem"
tgz_r=$(pack "$T/r" r)
it_body "$T/$tgz_r" @pgwaive/r 1.0.0 restricted >"$T/r.json"
code=$(it_pgcurl -o "$T/r0.out" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/r.json" "$PG_URL/@pgwaive%2fr" || true)
it_expect_eq "$code" 403 "the race's tarball is blocked first"
idr=$(decision_of "$T/r0.out")
[ -n "$idr" ] || it_fail "no decision id in the 403"
code=$(approve A "$idr" '&once=1')
it_expect_eq "$code" 201 "a once approval through gate A"
widr=$(it_json 'd.id' "$T/admin.json")
only b
pids=
for i in 1 2 3 4 5 6 7 8; do
	if [ $((i % 2)) -eq 0 ]; then port=$GATE_A_PORT; else port=$GATE_B_PORT; fi
	it_pgcurl --haproxy-protocol -o "$T/race-$i.out" -w '%{http_code}' \
	    -X PUT -H "authorization: Bearer $TOKEN" \
	    -H 'content-type: application/json' --data-binary "@$T/r.json" \
	    "https://127.0.0.1:$port/@pgwaive%2fr" >"$T/race-$i.code" 2>&1 &
	pids="$pids $!"
done
wait $pids || true
ok=0 refused=0
for i in 1 2 3 4 5 6 7 8; do
	case "$(cat "$T/race-$i.code")" in
	201|200) ok=$((ok + 1));;
	403) refused=$((refused + 1));;
	*) it_fail "race publish $i: $(cat "$T/race-$i.code") $(cat "$T/race-$i.out")";;
	esac
done
it_expect_eq "$ok" 1 "publishes let through by the once waiver"
it_expect_eq "$refused" 7 "publishes refused after it was used"
it_expect_eq "$(ADMIN_PATH="?id=$widr" admin B)" 200 "the waiver by id"
it_expect_eq "$(it_json 'd[0].uses' "$T/admin.json")" 1 "the once waiver's uses"
it_expect_eq "$(it_json 'd[0].state' "$T/admin.json")" used "its state"
fleet_log --json --package @pgwaive/r >"$T/log.json"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-use').length" \
    "$T/log.json")" 1 "one waiver-use record for the race"
n=$(it_vd_requests "<-- 201, .*'PUT /@pgwaive%2fr'")
it_expect_eq "$n" 1 "Verdaccio took @pgwaive/r once"
grep -q "event=waiver-used waiver=$widr" "$T/gate-B.err" && ub=1 || ub=0
grep -q "event=waiver-used waiver=$widr" "$T/gate-A.err" && ua=1 || ua=0
it_expect_eq "$((ua + ub))" 1 "one gate used the once waiver"

# 5. Revoke through the admin API.
code=$(ADMIN_PATH=/revoke admin A -X POST \
    -H 'content-type: application/x-www-form-urlencoded' \
    --data "id=$wid&reason=approved+by+mistake&by=carol")
it_expect_eq "$code" 200 "revoke through gate A ($(cat "$T/admin.json"))"
it_expect_eq "$(it_json 'd.state' "$T/admin.json")" revoked "revoked state"
code=$(ADMIN_PATH=/revoke admin B -X POST \
    -H 'content-type: application/x-www-form-urlencoded' \
    --data "id=$wid&reason=again&by=carol")
it_expect_eq "$code" 404 "revoking it again through gate B"
fleet_log --json --package @pgwaive/a >"$T/log.json"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-revoke' && /revoked by carol/.test(r.reasons[0].text)).length" \
    "$T/log.json")" 1 "the revocation record"

# 6. approval: required, approved through the other gate.
only a
it_pkg "$T/p" @pgappr/rel 2.0.0
tgz_p=$(pack "$T/p" p)
publish "$tgz_p"
[ "$rc" -ne 0 ] || it_fail "approval: required let a publish through"
it_expect_grep 'awaiting approval, decision [0-9a-f]{8}-[0-9]+' "$T/npm.err" \
    "npm prints the awaiting-approval text"
idp=$(decision_of "$T/npm.err")
it_expect_no_grep 'waiver-not-looked-up' "$T/gate-A.err" \
    "gate A looked the waiver up"
it_expect_eq "$(approve B "$idp" '&once=1')" 201 "the reviewer's approval"
only b
publish "$tgz_p"
[ "$rc" -eq 0 ] || it_fail "the approved release was refused: $(cat "$T/npm.err")"
it_vd_has @pgappr/rel 2.0.0 || it_fail "Verdaccio does not have 2.0.0"

# 7. PostgreSQL stopped: the waiver calls 503, a waivable block 503.
only a
pg_stop "$DBD" || it_fail "pg_ctl stop"
for i in $(seq 1 50); do
	curl -sS "http://127.0.0.1:$ADMIN_B_PORT/-/pubgate/health" \
	    >"$T/health.json"
	[ "$(it_json 'd.store.state' "$T/health.json")" = up ] || break
	sleep 0.1
done
it_expect_eq "$(admin B)" 503 "the waivers' list with the store down"
it_json 'd.error' "$T/admin.json" >/dev/null ||
    it_fail "the 503 has no JSON error"
it_expect_eq "$(approve B "$id")" 503 "an approval with the store down"
pkg="$T/a"
it_pkg "$pkg" @pgwaive/a 1.0.9
printf 'a fixture\n' >"$pkg/dist/fixture.pem"
tgz_z=$(pack "$pkg" z)
it_body "$T/$tgz_z" @pgwaive/a 1.0.9 restricted >"$T/z.json"
code=$(it_pgcurl -o "$T/z.out" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/z.json" "$PG_URL/@pgwaive%2fa" || true)
it_expect_eq "$code" 503 "a waivable block with the store down"
it_expect_grep 'decision store failed; nothing was forwarded' "$T/z.out" \
    "the 503 is the waiver lookup's"
it_expect_grep 'event=waiver-lookup-failed' "$T/gate-A.err" \
    "the failed lookup is logged"
it_vd_has @pgwaive/a 1.0.9 && it_fail "1.0.9 reached the registry"
kill -TERM "$PID_A" && wait "$PID_A" || it_fail "gate A did not exit 0"
PID_A=
kill -TERM "$PID_B" && wait "$PID_B" || it_fail "gate B did not exit 0"
PID_B=
it_log "ok"
