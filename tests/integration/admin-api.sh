#!/bin/bash
# tests/integration/admin-api.sh: the admin listener serves the decision
# log and the metrics, behind a bearer token.  After one allowed and one
# blocked publish by the real npm client: /-/pubgate/health is open;
# /-/pubgate/decisions and /-/pubgate/metrics refuse a missing or wrong
# token (401); with the token, decisions equal what `pubgate log --json`
# prints for the same query, and the metrics count one publish of each
# verdict.  Every parameter is validated: a bad since or limit, an unknown
# or repeated key is 400 with a JSON error; 401 carries WWW-Authenticate.
# The admin listener never forwards to the registry.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
admin_token=admin-token-0123456789abcdef-$$
printf '%s\n' "$admin_token" >"$T/admin.token"
chmod 600 "$T/admin.token"
cat >"$T/pubgate.yaml" <<EOF
admin:
  listen: $admin
  token_file: $T/admin.token
EOF
it_start_pubgate -c "$T/pubgate.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"

it_pkg "$T/ok" @pgtest/ok 1.0.0
(cd "$T/ok" && it_npm publish --access restricted) ||
    it_fail "allowed publish failed"
it_pkg "$T/leaky" @pgtest/leaky 1.0.0
printf '{"version":3,"sources":["a.ts"],"sourcesContent":["x"],"mappings":""}\n' \
    >"$T/leaky/dist/index.js.map"
set +e
(cd "$T/leaky" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the leaking publish was allowed"

# get PATH [CURLARGS...]: GET on the admin listener; status in $code.
get() {
	local path=$1
	shift
	code=$(curl -sS -o "$T/admin.out" -w '%{http_code}' "$@" \
	    "$admin$path") || code=000
}

get /-/pubgate/health
it_expect_eq "$code" 200 "health"
it_expect_eq "$(it_json 'd.status' "$T/admin.out")" ok "health status"

get '/-/pubgate/decisions?blocked=1'
it_expect_eq "$code" 401 "decisions without a token"
get '/-/pubgate/decisions?blocked=1' -H "authorization: Bearer wrong-$admin_token"
it_expect_eq "$code" 401 "decisions with a wrong token"
get /-/pubgate/metrics
it_expect_eq "$code" 401 "metrics without a token"
curl -sS -D "$T/admin.head" -o /dev/null "$admin/-/pubgate/decisions" || true
it_expect_grep '^WWW-Authenticate: Bearer realm="pubgate admin"' \
    "$T/admin.head" "the 401 challenge"
curl -sS -D "$T/admin.head" -o /dev/null -H 'authorization: Bearer nope' \
    "$admin/-/pubgate/decisions" || true
it_expect_grep 'error="invalid_token"' "$T/admin.head" "a wrong token's challenge"

auth="authorization: Bearer $admin_token"
# same QUERY LOGARGS...: the admin answer equals pubgate log's.
same() {
	local query=$1
	shift
	get "/-/pubgate/decisions?$query" -H "$auth"
	it_expect_eq "$code" 200 "decisions?$query"
	it_pglog --json "$@" >"$T/cli.json" || it_fail "pubgate log $* failed"
	node -e '
		const fs = require("fs");
		const a = JSON.parse(fs.readFileSync(process.argv[1]));
		const b = JSON.parse(fs.readFileSync(process.argv[2]));
		if (JSON.stringify(a) !== JSON.stringify(b)) process.exit(1);
	' "$T/admin.out" "$T/cli.json" ||
	    it_fail "decisions?$query differs from pubgate log --json $*"
}
same ''
same 'blocked=1' --blocked
same 'scope=@pgtest&limit=1' --scope @pgtest --limit 1
same 'package=@pgtest/ok' --package @pgtest/ok

# bad QUERY WORDS: 400 with a JSON error holding WORDS.
bad() {
	get "/-/pubgate/decisions?$1" -H "$auth"
	it_expect_eq "$code" 400 "decisions?$1"
	it_expect_grep "$2" "$T/admin.out" "the error of decisions?$1"
	it_json 'd.error' "$T/admin.out" >/dev/null ||
	    it_fail "decisions?$1: the 400 is not JSON"
}
bad 'since=yesterday' "bad since 'yesterday'"
bad 'since=2026-02-30T25:00:00Z' 'bad since'
bad 'limit=0' "bad limit '0'"
bad 'limit=-1' "bad limit"
bad 'limit=1e3' "bad limit"
bad 'limit=2&limit=3' 'given twice'
bad 'blocked=yes' 'bad blocked'
bad 'scope=@a/b' 'bad scope'
bad 'pakage=@pgtest/ok' "unknown parameter 'pakage'"
bad 'package=%4' 'malformed'
get '/-/pubgate/metrics?debug=1' -H "$auth"
it_expect_eq "$code" 400 "metrics with a parameter"
# Durations and ISO times are taken for since, as by pubgate log.
get '/-/pubgate/decisions?since=1h&blocked=true' -H "$auth"
it_expect_eq "$code" 200 "since=1h"
it_expect_eq "$(it_json 'd.length' "$T/admin.out")" 1 "blocked in the last hour"
get '/-/pubgate/decisions?since=2999-01-01T00:00:00Z' -H "$auth"
it_expect_eq "$(it_json 'd.length' "$T/admin.out")" 0 "since the future"
get '/-/pubgate/decisions?blocked=1' -H "$auth"
id=$(it_json 'd[0].request_id' "$T/admin.out")
get "/-/pubgate/decisions?id=$id" -H "$auth"
it_expect_eq "$(it_json 'd.length' "$T/admin.out")" 1 "one decision by id"
it_expect_eq "$(it_json 'd[0].package' "$T/admin.out")" @pgtest/leaky \
    "the decision by id"

get '/-/pubgate/decisions?blocked=1' -H "$auth"
it_expect_eq "$(it_json 'd.length' "$T/admin.out")" 1 "blocked decisions"
it_expect_eq "$(it_json 'd[0].package' "$T/admin.out")" @pgtest/leaky \
    "the blocked package"
get '/-/pubgate/decisions' -H "$auth"
it_expect_eq "$(it_json 'd.length' "$T/admin.out")" 2 "all decisions"
it_expect_eq "$(it_json 'd[0].package' "$T/admin.out")" @pgtest/leaky \
    "newest first"

get /-/pubgate/metrics -H "$auth"
it_expect_eq "$code" 200 "metrics with the token"
it_expect_grep '^pubgate_publishes_total\{verdict="allow"\} 1$' \
    "$T/admin.out" "allowed publishes counted"
it_expect_grep '^pubgate_publishes_total\{verdict="deny"\} 1$' \
    "$T/admin.out" "denied publishes counted"
it_expect_grep '^pubgate_inspection_seconds_count 2$' "$T/admin.out" \
    "inspections counted"

# The admin listener is not a way to the registry.
get /@pgtest%2fok -H "$auth"
it_expect_eq "$code" 404 "a registry path on the admin listener"
it_expect_no_secret "$admin_token" "$T/pubgate.err" "the admin token in the log"
it_expect_no_secret "$admin_token" "$T/pubgate.out" "the admin token in the log"
exit 0
