#!/bin/sh
# tests/unit/proxy/store-pg.sh: the decision store's unit cases against a
# real PostgreSQL (tests/pg-lib.sh starts one from Debian's packages in a
# temporary directory, loopback only, its own port, SCRAM password read
# from a passfile), then the CLI on it: pubgate db migrate (twice: the
# second is a no-op), pubgate log and pubgate show read what the store
# wrote; then the asynchronous calls of the serving process (pgloop.c)
# on a real event loop.  $1: the test_store binary, $2: pubgate, $3: the
# test_store_async binary.
set -eu
TEST_STORE=$1
PUBGATE=$2
TEST_STORE_ASYNC=$3
. "$(dirname "$0")/../../pg-lib.sh"
d=$(mktemp -d /tmp/pubgate-store-pg.XXXXXX)
cleanup() {
	pg_stop "$d" || true
	rm -rf "$d"
}
trap cleanup EXIT
pg_start "$d"

PUBGATE_TEST_PG=$PG_URL "$TEST_STORE"

# test_pg_specific left one record (package @acme/x; its request id is
# set to one pubgate show accepts below)
# and a schema version 99 row: log refuses a newer schema.
if "$PUBGATE" log --db "$PG_URL" >/dev/null 2>"$d/err"; then
	echo "FAIL: log read a newer schema" >&2; exit 1
fi
grep -q "newer" "$d/err" || { cat "$d/err" >&2; exit 1; }
PGPASSFILE=$PG_PASSFILE "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" \
    -U pubgate -d postgres -c "DELETE FROM pubgate_schema WHERE version = 99;
    UPDATE decisions SET request_id = '1a2b3c4d-17'"
out=$("$PUBGATE" db migrate --db "$PG_URL")
[ "$out" = "decision store schema version 5" ] || {
	echo "FAIL: db migrate: $out" >&2; exit 1; }
out=$("$PUBGATE" db migrate --db "$PG_URL" 2>&1)
[ "$out" = "decision store schema version 5" ] || {
	echo "FAIL: second db migrate: $out" >&2; exit 1; }
"$PUBGATE" log --db "$PG_URL" >"$d/log"
grep -q " allow 201 publish @acme/x who=sha256:0123456789abcdef" "$d/log" || {
	echo "FAIL: pubgate log on PostgreSQL:" >&2; cat "$d/log" >&2; exit 1; }
"$PUBGATE" show --db "$PG_URL" --json 1a2b3c4d-17 >"$d/show"
grep -q '"package":"@acme/x"' "$d/show" || {
	echo "FAIL: pubgate show on PostgreSQL:" >&2; cat "$d/show" >&2; exit 1; }
# The password comes from the passfile; without it the server refuses.
if "$PUBGATE" log --db "postgresql://pubgate@127.0.0.1:$PG_PORT/postgres?passfile=/nonexistent" \
    >/dev/null 2>"$d/err"; then
	echo "FAIL: connected without the password" >&2; exit 1
fi
grep -q "password" "$d/err" || { cat "$d/err" >&2; exit 1; }
PUBGATE_TEST_PG=$PG_URL "$TEST_STORE_ASYNC"
echo "ok store-pg"
