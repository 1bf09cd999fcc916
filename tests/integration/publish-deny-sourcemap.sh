#!/bin/bash
# tests/integration/publish-deny-sourcemap.sh: the March 2026 leak, replayed.
# A package whose dist/cli.js.map carries the TypeScript source in
# sourcesContent is published with the real npm client through pubgate:
# npm exits non-zero and prints the reasons (the file, the rule), Verdaccio
# never gets the version, and `pubgate log --blocked --json` returns the
# block with that reason.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

pkg="$T/leaky"
it_pkg "$pkg" @pgtest/leaky 1.0.0
cat >"$pkg/dist/cli.js" <<'EOF'
#!/usr/bin/env node
"use strict";console.log(require("./version").v);
//# sourceMappingURL=cli.js.map
EOF
cat >"$pkg/dist/cli.js.map" <<'EOF'
{"version":3,"file":"cli.js","sources":["../src/cli.ts"],"sourcesContent":["// internal: the product's whole TypeScript source\nimport { secretSauce } from './core';\nexport function main(): void {\n  console.log(secretSauce());\n}\n"],"names":[],"mappings":"AAAA"}
EOF

set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "npm publish of a leaking source map succeeded"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
it_expect_grep 'dist/cli\.js\.map' "$T/npm.err" \
    "npm prints the offending file"
it_expect_grep '[Ss]ource ?map|sourcesContent|\.map' "$T/npm.err" \
    "npm prints a source map reason"
# ... and the decision's id, which `pubgate show` finds.
it_expect_grep 'decision [0-9a-f]+-[0-9]+: quote it to your security team' \
    "$T/npm.err" "npm prints the decision id"
did=$(grep -oE 'decision [0-9a-f]+-[0-9]+:' "$T/npm.err" | head -1 |
    sed 's/^decision //; s/:$//')
"$PUBGATE" show --db "$T/pubgate.db" "$did" >"$T/show.txt" ||
    it_fail "pubgate show $did failed"
it_expect_grep "^decision $did " "$T/show.txt" "pubgate show: the decision"
it_expect_grep '^  verdict +block' "$T/show.txt" "pubgate show: verdict"
it_expect_grep '^  package +@pgtest/leaky' "$T/show.txt" "pubgate show: package"
it_expect_grep '^  client +127\.0\.0\.1' "$T/show.txt" "pubgate show: client"
it_expect_grep '^  reason +sourcemap\.[a-z-]+ dist/cli\.js\.map' "$T/show.txt" \
    "pubgate show: the reason"
"$PUBGATE" show --db "$T/pubgate.db" --json "$did" >"$T/show.json" ||
    it_fail "pubgate show --json failed"
it_expect_eq "$(it_json 'd.request_id' "$T/show.json")" "$did" "show --json"
set +e
"$PUBGATE" show --db "$T/pubgate.db" 0000dead-1 >/dev/null 2>&1
rc=$?
"$PUBGATE" show --db "$T/pubgate.db" "x' OR 1=1" >/dev/null 2>&1
rc2=$?
set -e
it_expect_eq "$rc" 1 "pubgate show of an unknown id"
it_expect_eq "$rc2" 2 "pubgate show of a malformed id"

# Verdaccio never saw it.
if it_vd_has @pgtest/leaky 1.0.0; then
	it_fail "Verdaccio has @pgtest/leaky@1.0.0"
fi
[ ! -e "$T/verdaccio/storage/@pgtest/leaky" ] ||
    it_fail "Verdaccio stored something for @pgtest/leaky"

# The decision log has the block, with the reason.
it_pglog --blocked --json >"$T/log.json" || it_fail "pubgate log failed"
it_expect_eq "$(it_json 'd.filter(r => r.package === "@pgtest/leaky").length' \
    "$T/log.json")" 1 "blocked records for @pgtest/leaky"
r='d.find(r => r.package === "@pgtest/leaky")'
it_expect_eq "$(it_json "$r.verdict" "$T/log.json")" block "verdict"
it_expect_eq "$(it_json "$r.status" "$T/log.json")" 403 "status"
it_expect_eq "$(it_json "$r.version" "$T/log.json")" 1.0.0 "version"
it_expect_eq "$(it_json "$r.reasons.some(x => x.file === 'dist/cli.js.map') ? 'yes' : 'no'" \
    "$T/log.json")" yes "a reason names dist/cli.js.map"
# The same record went to the log stream as one JSON line (audit_log "-":
# pubgate's own log output).
cat "$T/pubgate.out" "$T/pubgate.err" >"$T/stream.log"
grep -F '"package":"@pgtest/leaky"' "$T/stream.log" |
    grep -Fq '"verdict":"block"' ||
    it_fail "no JSON line for the block on pubgate's audit stream"
node -e '
	const lines = require("fs").readFileSync(process.argv[1], "utf8")
	    .split("\n").filter(l => l.startsWith("{"));
	if (lines.length === 0) process.exit(1);
	for (const l of lines) JSON.parse(l);
' "$T/stream.log" || it_fail "the audit stream has a line that is not JSON"

# The map's content is a secret of its own: it is not in the log.
it_expect_no_secret 'secretSauce' "$T/log.json" "map content in the log"
it_expect_no_secret 'secretSauce' "$T/stream.log" "map content in the log"
it_expect_no_secret 'secretSauce' "$T/pubgate.db" "map content in the store"

# The text form lists it too; filters that exclude it do.
it_pglog --blocked >"$T/log.txt" || it_fail "pubgate log (text) failed"
it_expect_grep 'block +403 +publish +@pgtest/leaky@1\.0\.0 .*dist/cli\.js\.map' \
    "$T/log.txt" "pubgate log text line"
it_pglog --json --scope @pgtest --since 10m >"$T/log2.json"
it_expect_eq "$(it_json 'd.length' "$T/log2.json")" 1 "--scope --since"
it_pglog --json --scope @other >"$T/log3.json"
it_expect_eq "$(it_json 'd.length' "$T/log3.json")" 0 "--scope @other"
it_pglog --json --package '@pgtest/leak*' --since 2000-01-01 >"$T/log4.json"
it_expect_eq "$(it_json 'd.length' "$T/log4.json")" 1 "--package glob"

# A fixed package (no map) then publishes fine: the block was the map.
rm "$pkg/dist/cli.js.map"
sed -i '/sourceMappingURL/d' "$pkg/dist/cli.js"
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "publish without the map was refused"
it_vd_has @pgtest/leaky 1.0.0 || it_fail "fixed version not in Verdaccio"
exit 0
