#!/bin/bash
# tests/integration/diff-previous.sh: judging a release against the
# previous version (issue 13, part 3).  The real npm client publishes
# through pubgate (TLS, test CA) to a Verdaccio that pubgate reaches over
# TLS too, under a rule with diff: { new_files: warn, max_growth: 3x,
# new_file_size: 1MB }:
#   - 1.0.0 is a first publish (404 packument): allowed;
#   - 1.0.1 adds a 5 MB dist/index.js.map and grows 4x: blocked, the 403
#     that npm prints names both reasons ("new since 1.0.0: ...") and the
#     record has them;
#   - 1.0.2 (1.0.0 plus a small lib/x.js) is allowed and npm prints the
#     diff.new_file warning (npm notice); it is judged against 1.0.0, the
#     version its dist-tag (latest) points at, not the refused 1.0.1;
#   - the packument read carries the client's Authorization (Verdaccio
#     logs the user), and the token is in no log line of pubgate;
#   - a first publish of another package is allowed;
#   - with the registry gone, 1.0.3 is blocked as diff.unreachable (no
#     502: the gate judged it, fail closed).
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio server
it_adduser alice
IT_POLICY="$T/policy.yaml"
cat >"$IT_POLICY" <<'YAML'
version: 1
default: deny
rules:
  - match: "@pgdiff/*"
    publish: allow
    access: restricted
    sourcemaps: allow
    secrets: block
    diff: { new_files: warn, max_growth: 3x, new_file_size: 1MB }
YAML
UPSTREAM=$VD_URL it_start_pubgate --upstream-ca "$T/ca.pem"

# vd_has NAME VERSION: it_vd_has for a Verdaccio over TLS (test CA).
vd_has() {
	local out="$T/vd-packument.json"
	[ "$(curl -s --cacert "$T/ca.pem" -o "$out" -w '%{http_code}' \
	    "$VD_URL/${1/\//%2f}")" = 200 ] || return 1
	it_json "d.versions && d.versions['$2'] ? 'yes' : undefined" \
	    "$out" >/dev/null
}

# publish DIR: npm publish through the gate; its exit status.
publish() {
	local rc=0
	(cd "$1" && it_npm publish --access restricted) || rc=$?
	return "$rc"
}

# A package of about 1.6 MB unpacked (compresses to a few kB).
pkg="$T/a"
it_pkg "$pkg" @pgdiff/a 1.0.0
node -e '
let s = "\"use strict\";\n";
for (let i = 0; s.length < 1600000; i++)
	s += "module.exports.f" + i + " = function () { return " + i + "; };\n";
require("fs").writeFileSync(process.argv[1], s);' "$pkg/dist/index.js"
publish "$pkg" || it_fail "the first publish of @pgdiff/a was refused"
vd_has @pgdiff/a 1.0.0 || it_fail "Verdaccio does not have 1.0.0"
it_expect_grep 'event=previous-version pkg=@pgdiff/a previous=- result=first-publish' \
    "$T/pubgate.err" "1.0.0 is judged a first publish"
it_expect_no_grep 'npm notice pubgate' "$T/npm.err" \
    "a first publish draws no diff warning"

# 1.0.1: a 5 MB source map, 4x the package: both reasons.
cp -r "$pkg" "$T/a1"
sed -i 's/"version": "1.0.0"/"version": "1.0.1"/' "$T/a1/package.json"
node -e '
let m = "{\"version\":3,\"sources\":[\"index.js\"],\"names\":[],\"mappings\":\"";
const seg = "AAAA,CAAC;";
m += seg.repeat(Math.ceil((5000000 - m.length - 2) / seg.length)) + "\"}";
require("fs").writeFileSync(process.argv[1], m);' "$T/a1/dist/index.js.map"
set +e
publish "$T/a1"
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "1.0.1 with a 5 MB new .map was published"
vd_has @pgdiff/a 1.0.1 && it_fail "Verdaccio has the refused 1.0.1"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
it_expect_grep 'diff\.new_file_size' "$T/npm.err" "npm prints diff.new_file_size"
it_expect_grep 'new since 1\.0\.0: dist/index\.js\.map, 5\.0 MB' "$T/npm.err" \
    "npm prints the new file, its size and the previous version"
it_expect_grep 'diff\.growth' "$T/npm.err" "npm prints diff.growth"
it_expect_grep 'grew 4\.[0-9]x since 1\.0\.0' "$T/npm.err" \
    "npm prints the growth factor"
it_pglog --json --package @pgdiff/a >"$T/log.json"
r='d.find(r => r.version === "1.0.1")'
it_expect_eq "$(it_json "$r.verdict" "$T/log.json")" block "1.0.1's record"
it_expect_eq "$(it_json "$r.reasons.filter(x => x.rule === 'diff.new_file_size' &&
    /^new since 1\\.0\\.0: dist\\/index\\.js\\.map, 5\\.0 MB/.test(x.text)).length" \
    "$T/log.json")" 1 "the record names the new file"
it_expect_eq "$(it_json "$r.reasons.some(x => x.rule === 'diff.growth') ? 'yes' : 'no'" \
    "$T/log.json")" yes "the record has diff.growth"

# 1.0.2: a small new file only warns, and npm prints the warning.
cp -r "$pkg" "$T/a2"
sed -i 's/"version": "1.0.0"/"version": "1.0.2"/' "$T/a2/package.json"
mkdir -p "$T/a2/lib"
printf 'module.exports = 2;\n' >"$T/a2/lib/x.js"
publish "$T/a2" || it_fail "1.0.2 with a small new file was refused"
vd_has @pgdiff/a 1.0.2 || it_fail "Verdaccio does not have 1.0.2"
it_expect_grep 'npm notice pubgate: 1 warning for @pgdiff/a@1\.0\.2: \[diff\.new_file\] lib/x\.js' \
    "$T/npm.err" "npm prints the diff.new_file warning"
it_expect_grep 'new since 1\.0\.0: lib/x\.js' "$T/npm.err" \
    "the warning names 1.0.0, the version latest pointed at"
it_expect_grep 'event=previous-version pkg=@pgdiff/a previous=1\.0\.0 result=judged' \
    "$T/pubgate.err" "1.0.2 is judged against 1.0.0"

# The reads carried the client's Authorization; no token in pubgate's logs.
it_expect_grep "user: alice.*GET /@pgdiff%2fa" "$T/verdaccio.log" \
    "the packument read was made as the publishing user"
it_expect_grep "user: alice.*GET /@pgdiff/a/-/a-1\.0\.0\.tgz" \
    "$T/verdaccio.log" "the tarball read was made as the publishing user"
it_expect_no_secret "$TOKEN" "$T/pubgate.err" "the npm token in pubgate's log"
it_expect_no_secret "$TOKEN" "$T/pubgate.out" "the npm token in pubgate's log"

# A first publish of another package: allowed, nothing to compare.
it_pkg "$T/b" @pgdiff/b 0.1.0
publish "$T/b" || it_fail "the first publish of @pgdiff/b was refused"
vd_has @pgdiff/b 0.1.0 || it_fail "Verdaccio does not have @pgdiff/b"

# The registry gone: the previous version cannot be read, fail closed.
kill "$IT_VD_PID"
wait "$IT_VD_PID" 2>/dev/null || true
cp -r "$pkg" "$T/a3"
sed -i 's/"version": "1.0.0"/"version": "1.0.3"/' "$T/a3/package.json"
set +e
# (no retries: npm's own read of the packument gets a 502 first)
(cd "$T/a3" && it_npm publish --access restricted --fetch-retries=0)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "1.0.3 was published with the registry down"
it_expect_grep '403' "$T/npm.err" "npm prints a 403, not a 502"
it_expect_grep 'diff\.unreachable' "$T/npm.err" "npm prints diff.unreachable"
it_pglog --json --package @pgdiff/a >"$T/log.json"
it_expect_eq "$(it_json "d.find(r => r.version === '1.0.3').reasons.some(x => x.rule === 'diff.unreachable') ? 'yes' : 'no'" \
    "$T/log.json")" yes "1.0.3's record says diff.unreachable"
exit 0
