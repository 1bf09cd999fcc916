#!/bin/bash
# tests/integration/private-curl.sh: `"private": true` is npm's own guard,
# and a raw PUT skips it.  A publish body whose tarball's package.json says
# private is sent with curl: pubgate answers 403 with a JSON error naming
# the problem, and Verdaccio never gets the package.  The same body
# without private goes through (so the 403 was for private, nothing else).
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

# put NAME BODYFILE: PUT through pubgate; prints the status, body in $T/resp.
put() {
	local enc=${1/\//%2f}
	it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
	    -H "authorization: Bearer $TOKEN" \
	    -H 'content-type: application/json' \
	    -H 'npm-command: publish' \
	    --data-binary "@$2" "$PG_URL/$enc"
}

pkg="$T/priv"
it_pkg "$pkg" @pgtest/priv 1.0.0
node -e '
	const f = process.argv[1], p = require(f);
	p.private = true;
	require("fs").writeFileSync(f, JSON.stringify(p, null, 2));
' "$pkg/package.json"
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/pgtest-priv-1.0.0.tgz" @pgtest/priv 1.0.0 restricted \
    >"$T/body.json"

code=$(put @pgtest/priv "$T/body.json") || it_fail "curl PUT failed"
it_expect_eq "$code" 403 "status of a private publish"
msg=$(it_json 'd.error' "$T/resp.json") ||
    it_fail "the 403 body has no JSON \"error\""
grep -Eqi 'private' <<<"$msg" ||
    it_fail "the 403 error does not mention private: $msg"
if it_vd_has @pgtest/priv 1.0.0; then
	it_fail "Verdaccio has the private package"
fi
[ ! -e "$T/verdaccio/storage/@pgtest/priv" ] ||
    it_fail "Verdaccio stored something for @pgtest/priv"
it_pglog --blocked --json --package '@pgtest/priv' >"$T/log.json"
it_expect_eq "$(it_json 'd.length' "$T/log.json")" 1 "blocked record"

# The control: the same package without private, same body builder.
node -e '
	const f = process.argv[1], p = require(f);
	delete p.private;
	require("fs").writeFileSync(f, JSON.stringify(p, null, 2));
' "$pkg/package.json"
rm -f "$T/pgtest-priv-1.0.0.tgz"
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null)
it_body "$T/pgtest-priv-1.0.0.tgz" @pgtest/priv 1.0.0 restricted \
    >"$T/body.json"
code=$(put @pgtest/priv "$T/body.json") || it_fail "curl PUT failed"
case "$code" in
2??) ;;
*) it_fail "control publish (not private): status $code: $(cat "$T/resp.json")" ;;
esac
it_vd_has @pgtest/priv 1.0.0 || it_fail "control publish not in Verdaccio"
exit 0
