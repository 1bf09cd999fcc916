#!/bin/bash
# tests/integration/waiver.sh: waivers and approval: required (issue 10),
# with the real npm client and Verdaccio.  A publish blocked for a denied
# file prints its decision id; `pubgate approve` makes a waiver for that
# tarball; a different tarball of the same version is still refused; the
# approved tarball sent again passes and the waiver-use record exists; a
# once waiver is spent after one use; a waiver with --expires 2s no longer
# applies after 3 s; `pubgate revoke` ends one.  Under a rule with
# approval: required a clean publish is answered 403 "awaiting approval"
# with its decision id, the publisher cannot approve it, a reviewer can,
# and the same tarball then passes.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
IT_POLICY="$T/policy.yaml"
cp "$IT_HERE/policy.yaml" "$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pgwaive/*"
    publish: allow
    access: restricted
    files:
      deny: ["**/*.pem"]
  - match: "@pgappr/*"
    publish: allow
    access: restricted
    approval: required
YAML
it_start_pubgate

# pack DIR TAG: packs the package once (the same bytes are sent each
# time) as $T/TAG.tgz; prints TAG.tgz.
pack() {
	local f
	f=$(cd "$T" && npm pack "$1" 2>/dev/null | tail -1)
	[ -n "$f" ] && [ -f "$T/$f" ] || it_fail "npm pack $1"
	mv "$T/$f" "$T/$2.tgz"
	echo "$2.tgz"
}
# publish TGZ: npm publish of a packed tarball through the gate; rc in $rc.
publish() {
	set +e
	(cd "$T" && it_npm publish --access restricted "$T/$1")
	rc=$?
	set -e
}
decision_of() {
	grep -Eo 'decision [0-9a-f]{8}-[0-9]+' "$T/npm.err" | head -1 |
	    cut -d' ' -f2
}
approve() {
	"$PUBGATE" approve --db "$T/pubgate.db" "$@" >"$T/approve.out" \
	    2>"$T/approve.err"
}

# 1. Blocked: a file the rule denies; npm prints the decision id.
pkg="$T/a"
it_pkg "$pkg" @pgwaive/a 1.0.0
printf 'not a key, a test fixture\n' >"$pkg/dist/fixture.pem"
tgz_a=$(pack "$pkg" a)
publish "$tgz_a"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused"
it_expect_grep 'files\.deny' "$T/npm.err" "the 403 names the rule"
id=$(decision_of)
[ -n "$id" ] || it_fail "npm's output names no decision id"
sha_a=$(it_sha512 "$T/$tgz_a")
it_expect_eq "$("$PUBGATE" show --db "$T/pubgate.db" --json "$id" |
    it_json 'd.sha512')" "$sha_a" "the record keeps the tarball's sha512"

# Approving needs a reason; a bad id or an unknown decision is refused.
approve --by bob "$id" && it_fail "approve without --reason"
approve --by bob --reason "x" "nope'1" && it_fail "approve of a bad id"
set +e
approve --by bob --reason "x" "0000dead-1"
[ $? -eq 1 ] || it_fail "approve of an unknown decision is not exit 1"
set -e

approve --by bob --reason "fixture, not a key (SEC-42)" --json "$id" ||
    it_fail "pubgate approve: $(cat "$T/approve.err")"
wid=$(it_json 'd.id' "$T/approve.out")
it_expect_eq "$(it_json 'd.sha512' "$T/approve.out")" "$sha_a" \
    "the waiver names the tarball's sha512"
it_expect_eq "$(it_json 'd.state' "$T/approve.out")" active "waiver state"

# 2. A different tarball of the same version is still refused.
pkg_b="$T/b"
it_pkg "$pkg_b" @pgwaive/a 1.0.0
printf 'another fixture\n' >"$pkg_b/dist/fixture.pem"
tgz_b=$(pack "$pkg_b" b)
publish "$tgz_b"
[ "$rc" -ne 0 ] || it_fail "a different tarball passed under the waiver"
it_expect_grep 'files\.deny' "$T/npm.err" "the gate refused the other tarball"
it_vd_has @pgwaive/a 1.0.0 && it_fail "Verdaccio has the other tarball"

# 3. The approved tarball passes; npm prints the waiver; the use is recorded.
publish "$tgz_a"
[ "$rc" -eq 0 ] || it_fail "the approved tarball was refused"
it_vd_has @pgwaive/a 1.0.0 || it_fail "Verdaccio does not have @pgwaive/a"
it_expect_grep "npm notice pubgate: @pgwaive/a@1\.0\.0 was let through by waiver $wid \(approved by bob for decision $id" \
    "$T/npm.err" "npm prints the waiver"
it_log_until "$T/log.json" \
    "d.filter(r => r.kind === 'publish' && r.verdict === 'allow' && r.status === 201).length" \
    1 it_pglog --json --package @pgwaive/a || it_fail "pubgate log failed"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-use' && r.sha512 === '$sha_a' && r.version === '1.0.0').length" \
    "$T/log.json")" 1 "one waiver-use record"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-approve' && /approved by bob/.test(r.reasons[0].text) && /SEC-42/.test(r.message)).length" \
    "$T/log.json")" 1 "the approval record says who and why"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'publish' && r.verdict === 'allow' && r.status === 201).length" \
    "$T/log.json")" 1 "the publish is recorded as allowed"

# 4. A once waiver is spent after one use.
it_pkg "$pkg" @pgwaive/a 1.0.1
tgz_c=$(pack "$pkg" c)
publish "$tgz_c"
[ "$rc" -ne 0 ] || it_fail "1.0.1 was not refused"
id1=$(decision_of)
approve --by bob --once --reason "one release" "$id1" ||
    it_fail "approve --once: $(cat "$T/approve.err")"
publish "$tgz_c"
[ "$rc" -eq 0 ] || it_fail "the once waiver did not let 1.0.1 through"
"$PUBGATE" waivers --db "$T/pubgate.db" >"$T/waivers.out"
it_expect_grep "^waiver [0-9]+ used +@pgwaive/a@1\.0\.1 .* once uses=1" \
    "$T/waivers.out" "the once waiver is listed as used"

# 5. Expiry: --expires 2s no longer applies after 3 s; revoke ends one.
it_pkg "$pkg" @pgwaive/a 1.0.2
tgz_d=$(pack "$pkg" d)
publish "$tgz_d"
[ "$rc" -ne 0 ] || it_fail "1.0.2 was not refused"
id2=$(decision_of)
approve --by bob --expires 2s --reason "short" "$id2" ||
    it_fail "approve --expires 2s: $(cat "$T/approve.err")"
sleep 3
publish "$tgz_d"
[ "$rc" -ne 0 ] || it_fail "an expired waiver let 1.0.2 through"
"$PUBGATE" waivers --db "$T/pubgate.db" --json >"$T/waivers.json"
it_expect_eq "$(it_json "d.find(w => w.version === '1.0.2').state" \
    "$T/waivers.json")" expired "the waiver is listed as expired"
id3=$(decision_of)
approve --by bob --reason "again" --json "$id3" ||
    it_fail "approve: $(cat "$T/approve.err")"
wid3=$(it_json 'd.id' "$T/approve.out")
"$PUBGATE" revoke --db "$T/pubgate.db" --by carol \
    --reason "approved by mistake" "$wid3" >"$T/revoke.out" ||
    it_fail "pubgate revoke"
it_expect_grep "revoked .*revoked-by=carol" "$T/revoke.out" "revoke prints it"
publish "$tgz_d"
[ "$rc" -ne 0 ] || it_fail "a revoked waiver let 1.0.2 through"
it_vd_has @pgwaive/a 1.0.2 && it_fail "Verdaccio has 1.0.2"
it_pglog --json --package @pgwaive/a >"$T/log.json"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-revoke' && /revoked by carol/.test(r.reasons[0].text)).length" \
    "$T/log.json")" 1 "the revocation record"

# 6. approval: required: a clean publish waits for a reviewer.
pkg_p="$T/p"
it_pkg "$pkg_p" @pgappr/rel 2.0.0
tgz_p=$(pack "$pkg_p" p)
publish "$tgz_p"
[ "$rc" -ne 0 ] || it_fail "approval: required let a publish through"
it_expect_grep 'awaiting approval, decision [0-9a-f]{8}-[0-9]+: a reviewer who is not the publisher approves it with pubgate approve' \
    "$T/npm.err" "npm prints the awaiting-approval text"
idp=$(decision_of)
it_vd_has @pgappr/rel 2.0.0 && it_fail "Verdaccio has it before approval"
who=$("$PUBGATE" show --db "$T/pubgate.db" --json "$idp" | it_json 'd.who')
[ -n "$who" ] || it_fail "the record has no publisher"
set +e
approve --by "$who" --reason "my own release" "$idp"
rc=$?
set -e
[ "$rc" -eq 1 ] || it_fail "the publisher approved their own publish"
it_expect_grep 'is its publisher' "$T/approve.err" "the refusal says why"
approve --by reviewer1 --once --reason "release 2.0.0 reviewed" "$idp" ||
    it_fail "the reviewer's approval: $(cat "$T/approve.err")"
publish "$tgz_p"
[ "$rc" -eq 0 ] || it_fail "the approved release was refused"
it_vd_has @pgappr/rel 2.0.0 || it_fail "Verdaccio does not have 2.0.0"
it_pglog --json --package @pgappr/rel >"$T/log.json"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'publish' && r.verdict === 'block' && r.reasons[0].rule === 'approval.required').length" \
    "$T/log.json")" 1 "the waiting publish is recorded with approval.required"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-use').length" \
    "$T/log.json")" 1 "the approval's use is recorded"
# The next version waits again.
it_pkg "$pkg_p" @pgappr/rel 2.0.1
tgz_q=$(pack "$pkg_p" q)
publish "$tgz_q"
[ "$rc" -ne 0 ] || it_fail "2.0.1 went through without approval"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
