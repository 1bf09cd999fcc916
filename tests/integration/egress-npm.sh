#!/bin/bash
# tests/integration/egress-npm.sh: pubgate as the egress gateway, with the
# real npm client configured the way a corporate network would do it:
# registry=https://registry.npmjs.org/, https-proxy=<pubgate's egress
# listener>, cafile=<the corporate root>.  registry.npmjs.org is
# intercepted and mapped to a local Verdaccio that serves TLS under that
# name (nothing reaches the real registry).  Through it:
#   - an allowed publish of a tarball lands byte-identical (sha512 of the
#     tarball fetched back from Verdaccio);
#   - npm install of it works;
#   - a leaking publish (dist/cli.js.map with sourcesContent) is blocked
#     with the reasons printed, and Verdaccio never gets it;
#   - every CONNECT is one access line with verdict=intercept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/egress-lib.sh"
it_init
eg_start

# An allowed publish, from a packed tarball so the bytes are known.
pkg="$T/ok"
it_pkg "$pkg" @pgtest/egress-ok 1.0.0
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
tgz="$T/pgtest-egress-ok-1.0.0.tgz"
eg_npm publish "$tgz" --access restricted ||
    it_fail "npm publish through the egress gateway failed"
eg_vd_has @pgtest/egress-ok 1.0.0 || it_fail "allowed publish not in Verdaccio"
curl -s --cacert "$T/ca.pem" -o "$T/back.tgz" \
    "$VD_URL/@pgtest/egress-ok/-/egress-ok-1.0.0.tgz" ||
    it_fail "cannot fetch the tarball back from Verdaccio"
it_expect_eq "$(it_sha512 "$T/back.tgz")" "$(it_sha512 "$tgz")" \
    "sha512 of the published tarball"

# npm install through the gateway.
mkdir -p "$T/app"
printf '{"name":"app","version":"1.0.0","private":true}\n' \
    >"$T/app/package.json"
(cd "$T/app" && eg_npm install @pgtest/egress-ok@1.0.0) ||
    it_fail "npm install through the egress gateway failed"
[ -f "$T/app/node_modules/@pgtest/egress-ok/dist/index.js" ] ||
    it_fail "installed package has no dist/index.js"

# A leaking publish is blocked, with the reasons printed.
pkg="$T/leaky"
it_pkg "$pkg" @pgtest/egress-leaky 1.0.0
cat >"$pkg/dist/cli.js" <<'EOF2'
"use strict";console.log(1);
//# sourceMappingURL=cli.js.map
EOF2
cat >"$pkg/dist/cli.js.map" <<'EOF2'
{"version":3,"file":"cli.js","sources":["../src/cli.ts"],"sourcesContent":["// internal source\nexport const secretSauce = 42;\n"],"names":[],"mappings":"AAAA"}
EOF2
set +e
(cd "$pkg" && eg_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "leaking publish through the gateway succeeded"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
it_expect_grep 'dist/cli\.js\.map' "$T/npm.err" "npm prints the file"
if eg_vd_has @pgtest/egress-leaky 1.0.0; then
	it_fail "Verdaccio has the leaking package"
fi
it_pglog --blocked --json >"$T/log.json" || it_fail "pubgate log failed"
it_expect_eq "$(it_json 'd.filter(r => r.package === "@pgtest/egress-leaky").length' \
    "$T/log.json")" 1 "blocked record of the egress publish"

# The gateway saw it all as intercepted CONNECTs; Verdaccio was asked
# under the intercepted name.
it_expect_grep 'method=CONNECT host=registry\.npmjs\.org port=443 verdict=intercept status=200' \
    "$T/pubgate.err" "CONNECT access line"
it_expect_grep 'method=PUT path=/@pgtest%2fegress-leaky .*status=403' \
    "$T/pubgate.err" "the blocked PUT went through the publish path"
it_expect_no_secret "$TOKEN" "$T/pubgate.err" "token in pubgate's log"
exit 0
