#!/bin/bash
# tests/integration/monitor-warn.sh: rolling the gate out (issue 10).  Under
# a rule with `mode: monitor` the real npm client publishes a package that
# leaks a source map: Verdaccio stores it, npm prints the would-be block as
# an `npm notice` (the npm-notice header) with the decision id, and the
# decision log has it as allowed with its reasons.  Under `warn:` a
# denied-file finding only warns, while a finding outside the list still
# blocks; an integrity mismatch (the gate's own inspection) blocks even in
# monitor mode.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
IT_POLICY="$T/policy.yaml"
sed -e 's|^    message: .*|    mode: monitor|' "$IT_HERE/policy.yaml" \
    >"$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pgwarn/*"
    publish: allow
    access: restricted
    files:
      deny: ["**/*.map", "**/NOTES*"]
    sourcemaps: block
    secrets: block
    warn: ["files.deny"]
YAML
it_start_pubgate

# Monitor: the leak goes through, npm says what would have blocked it.
pkg="$T/leaky"
it_pkg "$pkg" @pgtest/mon 1.0.0
printf '{"version":3,"sources":["../src/a.ts"],"sourcesContent":["const internal = 1;"],"mappings":"AAAA"}\n' \
    >"$pkg/dist/index.js.map"
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "monitor mode refused the publish"
it_vd_has @pgtest/mon 1.0.0 || it_fail "Verdaccio does not have @pgtest/mon"
it_expect_grep 'npm notice pubgate \(monitor mode\): this publish of @pgtest/mon@1\.0\.0 would be blocked' \
    "$T/npm.err" "npm prints the monitor notice"
it_expect_grep 'notice .*\[sourcemap\.[a-z-]+\] dist/index\.js\.map.*decision [0-9a-f]+-[0-9]+' \
    "$T/npm.err" "the notice names the map and the decision"
r='d.find(r => r.kind === "publish")'
it_log_until "$T/log.json" "$r.status" 201 \
    it_pglog --json --package @pgtest/mon || it_fail "pubgate log failed"
it_expect_eq "$(it_json "$r.verdict" "$T/log.json")" allow "recorded verdict"
it_expect_eq "$(it_json "$r.status" "$T/log.json")" 201 "recorded status"
it_expect_eq "$(it_json "$r.reasons.some(x => /^sourcemap\./.test(x.rule)) ? 'yes' : 'no'" \
    "$T/log.json")" yes "the would-be block's reasons are recorded"
it_expect_grep 'monitor' "$T/log.json" "the record says monitor"

# Monitor never lets an inspection reason through: a wrong integrity.
tgz=$(cd "$T" && npm pack "$pkg" 2>/dev/null | tail -1)
it_body "$T/$tgz" @pgtest/mon 1.0.1 >"$T/body.json"
sed -i 's/"integrity": *"sha512-[^"]*"/"integrity": "sha512-AAAA"/' "$T/body.json"
st=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
    -H 'content-type: application/json' \
    -H "authorization: Bearer $TOKEN" \
    --data-binary @"$T/body.json" "$PG_URL/@pgtest%2fmon")
[ "$st" = 400 ] || [ "$st" = 403 ] ||
    it_fail "integrity mismatch under monitor: HTTP $st $(cat "$T/resp.json")"
it_expect_grep 'integrity|consistency' "$T/resp.json" "the inspection reason"

# warn: a denied file only warns ...
pkg="$T/warned"
it_pkg "$pkg" @pgwarn/w 1.0.0
printf 'notes\n' >"$pkg/NOTES.md"
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "a warn-only finding refused the publish"
it_vd_has @pgwarn/w 1.0.0 || it_fail "Verdaccio does not have @pgwarn/w"
it_expect_grep 'npm notice pubgate: 1 warning for @pgwarn/w@1\.0\.0: \[files\.deny\] NOTES\.md' \
    "$T/npm.err" "npm prints the warning"
# ... a finding outside the list still blocks.
it_pkg "$pkg" @pgwarn/w 1.0.1
printf '{"version":3,"sources":["a.ts"],"sourcesContent":["x"],"mappings":"AAAA"}\n' \
    >"$pkg/dist/index.js.map"
set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "a source map passed a warn list without it"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
it_expect_grep '\(warning only\)' "$T/npm.err" \
    "the 403 marks the warn-only reason"
exit 0
