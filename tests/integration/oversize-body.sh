#!/bin/bash
# tests/integration/oversize-body.sh: a publish body over the configured
# limit (limits.body in pubgate.yaml, here 1 MiB) gets 413 with a JSON
# error, whether its size is announced (Content-Length) or not (chunked),
# and whether curl or the real npm client sends it; Verdaccio sees no
# publish.  A body under the limit still goes through.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
cat >"$T/pubgate.yaml" <<EOF
limits:
  body: 1048576
EOF
it_start_pubgate -c "$T/pubgate.yaml"

# A package whose tarball is about 2 MiB (random bytes do not compress).
pkg="$T/big"
it_pkg "$pkg" @pgtest/big 1.0.0
# First byte not "{": random bytes read as JSON can be undecidable.
head -c $((2 * 1024 * 1024)) /dev/urandom | { printf B; tail -c +2; } >"$pkg/dist/blob.bin"
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/pgtest-big-1.0.0.tgz" @pgtest/big 1.0.0 restricted >"$T/body.json"

# put BODYFILE [CURLARGS...]: PUT /@pgtest%2fbig; prints the status.
put() {
	local body=$1
	shift
	it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
	    -H "authorization: Bearer $TOKEN" \
	    -H 'content-type: application/json' "$@" \
	    --data-binary "@$body" "$PG_URL/@pgtest%2fbig" 2>"$T/curl.err" ||
	    true
}

code=$(put "$T/body.json")
it_expect_eq "$code" 413 "status of an oversize body (Content-Length)"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the 413 body has no JSON \"error\": $(head -c 300 "$T/resp.json")"

code=$(put "$T/body.json" -H 'transfer-encoding: chunked')
it_expect_eq "$code" 413 "status of an oversize body (chunked)"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the chunked 413 body has no JSON \"error\""

set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "npm publish of an oversize body succeeded"
it_expect_grep '413' "$T/npm.err" "npm prints the 413"

[ "$(it_vd_requests "PUT /@pgtest%2fbig")" -eq 0 ] ||
    it_fail "Verdaccio received a PUT for @pgtest/big"
if it_vd_has @pgtest/big 1.0.0; then
	it_fail "Verdaccio has @pgtest/big"
fi
it_pglog --json --package '@pgtest/big' >"$T/log.json"
it_expect_eq "$(it_json 'd.filter(r => r.verdict === "allow").length' \
    "$T/log.json")" 0 "allow records for the oversize publish"

# The control: a small package goes through the same gate.
it_pkg "$T/small" @pgtest/small 1.0.0
(cd "$T/small" && it_npm publish --access restricted) ||
    it_fail "a small publish was refused under the 1 MiB limit"
it_vd_has @pgtest/small 1.0.0 || it_fail "@pgtest/small not in Verdaccio"
exit 0
