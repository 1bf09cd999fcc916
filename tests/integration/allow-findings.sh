#!/bin/bash
# tests/integration/allow-findings.sh: finding suppressions (issue 10).  The
# real npm client publishes a package whose test fixture holds a known fake
# credential: the 403 prints the finding's fingerprint; once the policy
# names it in allow_findings (rule, file glob, fingerprint) the same
# publish passes, npm prints the suppression as a notice and the decision
# log records it; a package with the fake and a real-looking credential in
# another file is still refused for that one.  The secret values never
# reach npm's output or the record.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
FAKE=sk_live_4eC39HqLyjWDarjtT1zdp7dc
REAL=sk_live_Zq81mNbVx02LkPwe93JdTy7u
IT_POLICY="$T/policy.yaml"
cp "$IT_HERE/policy.yaml" "$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pgfind/*"
    publish: allow
    access: restricted
    secrets: block
    sourcemaps: block
YAML
cp "$IT_POLICY" "$T/policy.base.yaml"
it_start_pubgate

pkg="$T/fixture"
it_pkg "$pkg" @pgfind/a 1.0.0
mkdir -p "$pkg/dist/test"
printf 'module.exports = { key: "%s" };\n' "$FAKE" >"$pkg/dist/test/fixture.js"
set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the fake credential was not refused"
it_expect_grep '403' "$T/npm.err" "npm prints the 403"
it_expect_grep 'secret\.stripe-live-key\] dist/test/fixture\.js' "$T/npm.err" \
    "the 403 names the finding"
fp=$(grep -Eo 'fingerprint [0-9a-f]{16}' "$T/npm.err" | head -1 | cut -d' ' -f2)
[ -n "$fp" ] || it_fail "the 403 gives no fingerprint"
it_expect_no_secret "$FAKE" "$T/npm.err" "the fake value in npm's output"
# The offline scan prints the same fingerprint.
tgz=$(cd "$T" && npm pack "$pkg" 2>/dev/null | tail -1)
set +e
"$PUBGATE" scan --policy "$IT_POLICY" --name @pgfind/a "$T/$tgz" >"$T/scan.out"
set -e
it_expect_grep "fingerprint $fp" "$T/scan.out" "pubgate scan prints it"

# Suppressed: the same publish passes, and says so.
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
cat >>"$IT_POLICY" <<YAML
    allow_findings:
      - rule: secret.stripe-live-key
        file: "dist/test/**"
        fingerprint: $fp
YAML
it_start_pubgate
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "the suppressed finding still blocks"
it_vd_has @pgfind/a 1.0.0 || it_fail "Verdaccio does not have @pgfind/a"
it_expect_grep 'npm notice pubgate: 1 finding suppressed by allow_findings for @pgfind/a@1\.0\.0: \[secret\.stripe-live-key\] dist/test/fixture\.js' \
    "$T/npm.err" "npm prints the suppression"
it_pglog --json --package @pgfind/a >"$T/log.json"
r='d.find(r => r.kind === "publish" && r.verdict === "allow")'
it_expect_eq "$(it_json "$r.reasons.some(x => /suppressed by allow_findings/.test(x.text)) ? 'yes' : 'no'" \
    "$T/log.json")" yes "the record says the finding was suppressed"
it_expect_no_secret "$FAKE" "$T/log.json" "the fake value in the record"

# An unsuppressed finding in the same package still blocks.
it_pkg "$pkg" @pgfind/a 1.0.1
printf 'module.exports = "%s";\n' "$REAL" >"$pkg/dist/config.js"
set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the unsuppressed credential passed"
it_expect_grep 'secret\.stripe-live-key\] dist/config\.js' "$T/npm.err" \
    "the 403 names the real finding"
it_expect_no_grep '\(warning only\)' "$T/npm.err" "no warn marks"
it_expect_no_secret "$REAL" "$T/npm.err" "the value in npm's output"
it_vd_has @pgfind/a 1.0.1 && it_fail "Verdaccio has the refused 1.0.1"
# ... and the same value under a file the entry does not name.
it_pkg "$pkg" @pgfind/a 1.0.2
rm -f "$pkg/dist/config.js"
printf 'module.exports = "%s";\n' "$FAKE" >"$pkg/dist/index.js"
set +e
(cd "$pkg" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the fake outside dist/test/ passed"
it_expect_grep "secret\.stripe-live-key\] dist/index\.js.*" "$T/npm.err" \
    "the 403 names the fake outside the glob"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
