#!/bin/sh
# tests/scan/cli.sh: the offline CLI's contract: exit codes (0 allow,
# 1 block, 2 error with one line on stderr), `policy check` errors with
# file:line:col, --json output, and the example leaky package blocked.
# Usage: cli.sh PUBGATE SRCDIR
set -eu
pubgate=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
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

expect 0 "policy check strict" -- "$pubgate" policy check "$src/contrib/policies/strict.yaml"
expect 0 "policy check oss" -- "$pubgate" policy check "$src/contrib/policies/oss.yaml"

cat >"$tmp/bad.yaml" <<'YAML'
version: 1
default: allow
rules:
  - match: "@acme/*"
    publish: maybe
    limits: { tarball: 12XB }
    colour: blue
YAML
expect 2 "policy check broken" -- "$pubgate" policy check "$tmp/bad.yaml"
n=$(grep -c "^$tmp/bad.yaml:[0-9]*:[0-9]*: " "$tmp/err" || true)
if [ "$n" -lt 3 ]; then
	echo "FAIL: want every error as file:line:col, got $n:"
	cat "$tmp/err"
	fail=1
fi

expect 2 "scan missing file" -- "$pubgate" scan -p "$src/contrib/policies/strict.yaml" "$tmp/nope.tgz"
if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
	echo "FAIL: an error is one line on stderr"
	fail=1
fi
expect 2 "scan with broken policy" -- "$pubgate" scan -p "$tmp/bad.yaml" "$tmp/bad.yaml"
expect 2 "scan without file" -- "$pubgate" scan
expect 2 "unknown command" -- "$pubgate" frobnicate

(cd "$src/contrib/examples/leaky" && npm pack --silent --pack-destination "$tmp" >/dev/null)
expect 1 "leaky example blocked" -- "$pubgate" scan -p "$src/contrib/policies/strict.yaml" "$tmp"/acme-leaky-example-1.0.0.tgz
grep -q "sourcemap.sources-content" "$tmp/out" || {
	echo "FAIL: leaky example: no sourcemap.sources-content reason"
	cat "$tmp/out"
	fail=1
}
expect 1 "leaky example --json" -- "$pubgate" scan --json "$tmp"/acme-leaky-example-1.0.0.tgz
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (r.report.verdict !== "block" || !r.report.reasons.length) process.exit(1)' "$tmp/out" || {
	echo "FAIL: --json output is not a block report"
	cat "$tmp/out"
	fail=1
}
# secrets_in_tests: a secret under test/ is blocked by default (and the
# reason says where it is) and allowed when the rule says so; an
# .env.example of placeholders is judged by its values.  The token is
# generated here (GitHub's format, CRC32 included).
mkdir -p "$tmp/t/test/fixtures"
cat >"$tmp/t/package.json" <<'JSON'
{ "name": "tests-secret", "version": "1.0.0", "license": "MIT" }
JSON
node -e '
let c, crc = 0xffffffff;
const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let e = "";
for (let i = 0; i < 30; i++) e += b62[(i * 17 + 5) % 62];
for (const b of Buffer.from(e)) {
	c = (crc ^ b) & 0xff;
	for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
	crc = (crc >>> 8) ^ c;
}
let v = (crc ^ 0xffffffff) >>> 0, s = "";
for (let i = 0; i < 6; i++) { s = b62[v % 62] + s; v = Math.floor(v / 62); }
process.stdout.write("module.exports = { token: \"gh" + "p_" + e + s + "\" };\n");
' >"$tmp/t/test/fixtures/auth.js"
printf 'DB_PASSWORD=\nAPI_KEY=your-api-key-here\nSESSION_SECRET=changeme\n' >"$tmp/t/.env.example"
printf 'module.exports = 1;\n' >"$tmp/t/index.js"
(cd "$tmp/t" && npm pack --silent --pack-destination "$tmp" >/dev/null)
for mode in block allow warn; do
	cat >"$tmp/tests-$mode.yaml" <<YAML
version: 1
rules:
  - match: "*"
    publish: allow
    secrets_in_tests: $mode
YAML
done
expect 1 "secret under test/ blocked by default" -- "$pubgate" scan -p "$tmp/tests-block.yaml" "$tmp"/tests-secret-1.0.0.tgz
grep -q "secret.github-token.*test/fixtures/auth.js\|test/fixtures/auth.js.*secret.github-token" "$tmp/out" &&
    grep -q "in a test folder" "$tmp/out" || {
	echo "FAIL: the block names the test file and its context"
	cat "$tmp/out"
	fail=1
}
if grep -q "env-assignment" "$tmp/out"; then
	echo "FAIL: .env.example of placeholders reported"
	cat "$tmp/out"
	fail=1
fi
expect 0 "secret under test/ allowed by secrets_in_tests: allow" -- "$pubgate" scan -p "$tmp/tests-allow.yaml" "$tmp"/tests-secret-1.0.0.tgz
# warn: allowed, and the finding is printed as a warning.
expect 0 "secret under test/ only warns with secrets_in_tests: warn" -- "$pubgate" scan -p "$tmp/tests-warn.yaml" "$tmp"/tests-secret-1.0.0.tgz
grep -q "warning.*secret.github-token.*test/fixtures/auth.js" "$tmp/out" || {
	echo "FAIL: secrets_in_tests: warn prints the warning"
	cat "$tmp/out"
	fail=1
}
# The strict example's allow globs fit README/LICENSE/CHANGELOG in the
# case variants real packages use; oss.yaml lets publishConfig carry the
# keys npm and pnpm document (provenance, directory, ...).
mkdir -p "$tmp/c/dist"
cat >"$tmp/c/package.json" <<'JSON'
{ "name": "@acme/cases", "version": "1.0.0", "license": "MIT",
  "files": ["dist", "Changelog.md"],
  "publishConfig": { "access": "restricted", "provenance": true } }
JSON
printf 'module.exports = 1;\n' >"$tmp/c/dist/index.js"
printf '# cases\n' >"$tmp/c/readme.md"
printf 'MIT\n' >"$tmp/c/License"
printf '# 1.0.0\n' >"$tmp/c/Changelog.md"
(cd "$tmp/c" && npm pack --silent --pack-destination "$tmp" >/dev/null)
for f in package/readme.md package/License package/Changelog.md; do
	tar tzf "$tmp"/acme-cases-1.0.0.tgz | grep -qx "$f" || {
		echo "FAIL: npm pack left out $f"
		fail=1
	}
done
grep -q '"\[Rr\]\[Ee\]\[Aa\]\[Dd\]\[Mm\]\[Ee\]\*"' "$src/contrib/policies/strict.yaml" || {
	echo "FAIL: strict.yaml's README glob is not the one tested here"
	fail=1
}
expect 1 "strict: case variants pass files.allow (only publish-config refused)" -- "$pubgate" scan -p "$src/contrib/policies/strict.yaml" --name @acme/cases "$tmp"/acme-cases-1.0.0.tgz
if grep -q "files.allow" "$tmp/out" || ! grep -q "publish-config" "$tmp/out"; then
	echo "FAIL: strict policy: want only publish-config (provenance), got:"
	cat "$tmp/out"
	fail=1
fi
# --name: without it publishConfig is judged by the default rule (issue 13, part 5).
expect 0 "oss: publishConfig provenance allowed" -- "$pubgate" scan -p "$src/contrib/policies/oss.yaml" --name @acme/cases "$tmp"/acme-cases-1.0.0.tgz
# oss.yaml lets publishConfig.ignore through (npm does not read it; the
# npmignore tool does), not a key npm acts on (the false-block survey,
# bench/survey).
mkdir -p "$tmp/pc"
cat >"$tmp/pc/package.json" <<'JSON'
{ "name": "pc-ignore", "version": "1.0.0", "license": "MIT",
  "publishConfig": { "ignore": [".github/workflows", "test/"] } }
JSON
printf 'module.exports = 1;\n' >"$tmp/pc/index.js"
(cd "$tmp/pc" && npm pack --silent --pack-destination "$tmp" >/dev/null)
expect 0 "oss: publishConfig.ignore allowed" -- "$pubgate" scan -p "$src/contrib/policies/oss.yaml" "$tmp"/pc-ignore-1.0.0.tgz
sed 's/"ignore"/"strict-ssl": false, "ignore"/; s/1.0.0/1.0.1/' "$tmp/pc/package.json" >"$tmp/pc/p.json"
mv "$tmp/pc/p.json" "$tmp/pc/package.json"
(cd "$tmp/pc" && npm pack --silent --pack-destination "$tmp" >/dev/null)
expect 1 "oss: publishConfig.strict-ssl still refused" -- "$pubgate" scan -p "$src/contrib/policies/oss.yaml" "$tmp"/pc-ignore-1.0.1.tgz
grep -q "publishConfig.strict-ssl is not allowed" "$tmp/out" || {
	echo "FAIL: oss: the refusal names publishConfig.strict-ssl"
	cat "$tmp/out"
	fail=1
}
# --previous: judging against the previous version offline (issue 13, part 3).
mkdir -p "$tmp/d0" "$tmp/d1"
cat >"$tmp/diff.yaml" <<'YAML'
version: 1
rules:
  - match: "@acme/*"
    publish: allow
    sourcemaps: allow
    diff: { new_files: warn, max_growth: 3x, new_file_size: 1MB }
YAML
printf '{"name":"@acme/d","version":"1.0.0","license":"ISC"}\n' >"$tmp/d0/package.json"
node -e 'let s=""; for (let i = 0; s.length < 400000; i++) s += "exports.f" + i + " = () => " + i + ";\n"; process.stdout.write(s)' >"$tmp/d0/index.js"
cp "$tmp/d0/index.js" "$tmp/d1/index.js"
printf '{"name":"@acme/d","version":"1.0.1","license":"ISC"}\n' >"$tmp/d1/package.json"
node -e 'process.stdout.write("{\"version\":3,\"sources\":[],\"mappings\":\"" + "AAAA;".repeat(400000) + "\"}")' >"$tmp/d1/index.js.map"
(cd "$tmp/d0" && npm pack --silent --pack-destination "$tmp" >/dev/null)
(cd "$tmp/d1" && npm pack --silent --pack-destination "$tmp" >/dev/null)
expect 0 "--previous not given: no diff for a .tgz" -- "$pubgate" scan -p "$tmp/diff.yaml" "$tmp"/acme-d-1.0.1.tgz
expect 1 "--previous: a 2 MB new map, 6x" -- "$pubgate" scan -p "$tmp/diff.yaml" --previous "$tmp"/acme-d-1.0.0.tgz "$tmp"/acme-d-1.0.1.tgz
for want in '\[diff.new_file_size\] index.js.map: new since 1.0.0: index.js.map, 2.0 MB' '\[diff.growth\] grew [0-9.]*x since 1.0.0'; do
	grep -q "$want" "$tmp/out" || {
		echo "FAIL: --previous: /$want/ not in:"
		cat "$tmp/out"
		fail=1
	}
done
expect 0 "--previous: the same version again" -- "$pubgate" scan -p "$tmp/diff.yaml" --previous "$tmp"/acme-d-1.0.0.tgz "$tmp"/acme-d-1.0.0.tgz
expect 1 "--previous: a missing file is diff.unreachable" -- "$pubgate" scan -p "$tmp/diff.yaml" --previous "$tmp"/nope-1.0.0.tgz "$tmp"/acme-d-1.0.1.tgz
grep -q 'diff.unreachable' "$tmp/out" || {
	echo "FAIL: --previous nope: no diff.unreachable"
	cat "$tmp/out"
	fail=1
}
exit $fail
