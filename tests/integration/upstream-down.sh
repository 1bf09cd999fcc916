#!/bin/bash
# tests/integration/upstream-down.sh: with nothing listening upstream,
# reads get 502 with a JSON error (npm view fails cleanly), a publish
# fails and is not recorded as allowed-and-delivered, and pubgate keeps
# running: once the registry comes up on that port, reads work again.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
down_port=$(it_free_port)
TOKEN=not-a-real-token-0123456789
VD_PORT=$down_port
VD_URL="http://127.0.0.1:$down_port"
UPSTREAM=$VD_URL it_start_pubgate

code=$(it_pgcurl -o "$T/resp.json" -D "$T/resp.head" -w '%{http_code}' \
    "$PG_URL/left-pad") || true
it_expect_eq "$code" 502 "status of a read with the upstream down"
it_expect_grep '^[Cc]ontent-[Tt]ype: *application/json' "$T/resp.head" \
    "the 502 is JSON"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the 502 body has no JSON \"error\": $(head -c 300 "$T/resp.json")"

code=$(it_pgcurl -o /dev/null -w '%{http_code}' -X HEAD \
    "$PG_URL/@pgtest%2fhello") || true
it_expect_eq "$code" 502 "status of a HEAD with the upstream down"

set +e
it_npm view left-pad version --fetch-retries=0
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "npm view succeeded with the upstream down"

it_pkg "$T/p" @pgtest/down 1.0.0
set +e
(cd "$T/p" && it_npm publish --access restricted --fetch-retries=0)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "npm publish succeeded with the upstream down"
# The policy may have allowed it, but it was not delivered: no record
# may say allowed with a success status.
if [ -s "$T/pubgate.db" ]; then
	it_pglog --json --package '@pgtest/down' >"$T/log.json" ||
	    it_fail "pubgate log failed"
	it_expect_eq "$(it_json 'd.filter(r => r.verdict === "allow" && r.status < 300).length' \
	    "$T/log.json")" 0 "records of the failed publish as allowed"
	it_expect_eq "$(it_json 'd.filter(r => r.verdict === "allow" && r.status < 500).length' \
	    "$T/log.json")" 0 "allowed records without an upstream error status"
fi
kill -0 "$IT_PG_PID" 2>/dev/null || it_fail "pubgate died"

# The registry comes back on that port: reads recover, no restart.
VD_PORT_WANT=$down_port it_start_verdaccio
code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' "$PG_URL/-/ping") || true
it_expect_eq "$code" 200 "status of a read once the upstream is back"
exit 0
