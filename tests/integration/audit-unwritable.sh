#!/bin/bash
# tests/integration/audit-unwritable.sh: a decision that cannot be recorded
# is not made.  While another process (a sqlite3 shell) holds the decision
# store's write lock, an allowed publish is answered 503 and Verdaccio
# never sees it; once the lock is gone the same publish goes through and is
# recorded.  Reads are not affected by the lock.
. "$(dirname "$0")/lib.sh"
it_init
it_need sqlite3
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

# A decision first, so the store exists with its schema.
it_pkg "$T/first" @pgtest/first 1.0.0
(cd "$T/first" && it_npm publish --access restricted) ||
    it_fail "the first publish failed"

# Hold the write lock from a sqlite3 shell fed through a fifo.
mkfifo "$T/sql.fifo"
sqlite3 "$T/pubgate.db" <"$T/sql.fifo" >"$T/sqlite.out" 2>&1 &
IT_PIDS+=("$!")
exec 9>"$T/sql.fifo"
printf '%s\n' "PRAGMA busy_timeout=5000;" "BEGIN IMMEDIATE;" \
    "SELECT 'locked';" >&9
for i in $(seq 1 50); do
	grep -q locked "$T/sqlite.out" && break
	sleep 0.1
done
grep -q locked "$T/sqlite.out" || it_fail "sqlite3 did not take the lock"

it_pkg "$T/p" @pgtest/locked 1.0.0
(cd "$T/p" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/pgtest-locked-1.0.0.tgz" @pgtest/locked 1.0.0 restricted \
    >"$T/body.json"
code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/body.json" "$PG_URL/@pgtest%2flocked") || true
it_expect_eq "$code" 503 "status of a publish that cannot be recorded"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the 503 body has no JSON \"error\""
[ "$(it_vd_requests "PUT /@pgtest%2flocked")" -eq 0 ] ||
    it_fail "the unrecorded publish reached Verdaccio"

# Reads pass while the store is locked.
code=$(it_pgcurl -o /dev/null -w '%{http_code}' "$PG_URL/@pgtest%2ffirst") ||
    true
it_expect_eq "$code" 200 "a read while the store is locked"

# Release the lock: the same publish is recorded and forwarded.
printf '%s\n' "ROLLBACK;" ".quit" >&9
exec 9>&-
code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/body.json" "$PG_URL/@pgtest%2flocked") || true
it_expect_eq "$code" 201 "status of the publish once the store is free"
it_vd_has @pgtest/locked 1.0.0 || it_fail "@pgtest/locked not in Verdaccio"
it_pglog --json --package @pgtest/locked >"$T/log.json"
it_expect_eq "$(it_json 'd.filter(r => r.verdict === "allow").length' \
    "$T/log.json")" 1 "allow records for @pgtest/locked"
exit 0
