#!/bin/sh
# tests/scan/folder.sh: `pubgate scan DIR` against the real npm.  Writes
# package folders with the cases that decide what npm packs
# (packlist-fixtures.js: hand-written ones and seeded random ones), packs
# them all with one `npm pack --json`, and requires for each folder that
# `pubgate scan --list` names exactly the files npm packed, and that the
# folder is judged as npm's tarball is (verdict, rule, reasons); the
# folders this reading must refuse are refused (exit 2, one line).  Then
# --name inference: without --name the package's own name picks the rule
# (publishConfig judged by it), for a folder, a tarball and a body.
# Usage: folder.sh PUBGATE SRCDIR
set -eu
pubgate=$1
src=$2
here=$src/tests/scan
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
command -v npm >/dev/null || { echo "SKIP: npm not found"; exit 77; }
export npm_config_update_notifier=false npm_config_fund=false \
    npm_config_audit=false npm_config_cache="$tmp/npm-cache"

node "$here/packlist-fixtures.js" "$tmp/pk" 40 >"$tmp/fixtures.json"
mkdir "$tmp/tgz"
(cd "$tmp" && npm pack --json --ignore-scripts --offline \
    --pack-destination "$tmp/tgz" $(ls -d pk/*/ | sed 's|^|./|') \
    >"$tmp/npm.json" 2>"$tmp/npm.err") || {
	echo "FAIL: npm pack"
	cat "$tmp/npm.err"
	exit 1
}
node "$here/packlist-compare.js" "$pubgate" "$tmp/fixtures.json" \
    "$tmp/npm.json" "$tmp/tgz" "$here/folder-policy.yaml" || fail=1

expect() {	# expect RC DESCRIPTION -- command...
	want=$1
	what=$2
	shift 3
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, want $want"
		cat "$tmp/out" "$tmp/err"
		fail=1
	else
		echo "ok: $what"
	fi
}

# A refusal is one line naming the reason.
expect 2 "bundleDependencies refused" -- "$pubgate" scan "$tmp"/pk/*-bundled
grep -q "bundleDependencies" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
    { echo "FAIL: refusal does not name bundleDependencies in one line"; fail=1; }
expect 2 "folder without package.json" -- "$pubgate" scan "$tmp/tgz"
expect 2 "--list of a file" -- "$pubgate" scan --list "$tmp/fixtures.json"
expect 2 "two output formats" -- "$pubgate" scan --json --list "$tmp/pk"
expect 2 "unknown format" -- "$pubgate" scan --format xml "$tmp/pk"

# --name inference (issue 13 part 5): @acme/* allows publishConfig.access
# only; the catch-all also allows registry.  The package is @acme/x.
mkdir -p "$tmp/named/lib"
cat >"$tmp/named/package.json" <<'JSON'
{"name":"@acme/x","version":"1.0.0","main":"lib/index.js",
 "publishConfig":{"registry":"https://registry.example.com/"}}
JSON
echo 'module.exports = 1' >"$tmp/named/lib/index.js"
(cd "$tmp/named" && npm pack --silent --ignore-scripts --offline \
    --pack-destination "$tmp" >/dev/null)
node "$src/tests/integration/mkbody.js" "$tmp/acme-x-1.0.0.tgz" @acme/x \
    1.0.0 >"$tmp/body.json"
pol=$here/folder-policy.yaml
for what in "$tmp/named" "$tmp/acme-x-1.0.0.tgz" "$tmp/body.json"; do
	[ -f "$what" ] || [ -d "$what" ] || { echo "FAIL: no $what"; fail=1; continue; }
	expect 1 "no --name: $(basename "$what") judged by @acme/*" -- \
	    "$pubgate" scan -p "$pol" "$what"
	grep -q 'policy rule "@acme/\*"' "$tmp/out" &&
	    grep -q "publishConfig.registry is not allowed" "$tmp/out" || {
		echo "FAIL: publishConfig not judged by the package's rule"
		cat "$tmp/out"
		fail=1
	}
done
# --name still wins: the name check then refuses the mismatch.
expect 1 "--name other: consistency" -- "$pubgate" scan -p "$pol" \
    --name other "$tmp/named"
grep -q "consistency.name" "$tmp/out" || { echo "FAIL: no consistency.name"; fail=1; }
# An unscoped package falls to the catch-all, which allows registry.
sed 's/@acme\/x/plain-x/' "$tmp/named/package.json" >"$tmp/p.json"
mv "$tmp/p.json" "$tmp/named/package.json"
expect 0 "no --name: plain-x judged by *" -- "$pubgate" scan -p "$pol" "$tmp/named"

exit $fail
