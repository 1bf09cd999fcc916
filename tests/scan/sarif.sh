#!/bin/sh
# tests/scan/sarif.sh: `pubgate scan --format sarif` is valid SARIF 2.1.0
# (the official schema, validated with ajv by sarif-validate.js; the
# validator itself is shown to reject a broken log), with one result per
# reason at the right level (error blocks, warning warns, note for a
# finding allow_findings suppressed), the file relative to the package
# root and the line for a folder, the byte offset for a tarball, and no
# secret value anywhere in the log.  Exit codes stay those of scan.
# Needs tests/scan/install.sh (ajv and the schema from the npm registry).
# Usage: sarif.sh PUBGATE SRCDIR
set -eu
pubgate=$1
src=$2
here=$src/tests/scan
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
if [ ! -f "$here/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json" ] ||
    [ ! -f "$here/node_modules/ajv-draft-04/package.json" ]; then
	echo "SKIP: the SARIF schema and ajv are not installed (run tests/scan/install.sh)"
	exit 77
fi

# Keys with the real format (AKIA + 16), split so this file holds none.
k1=AKIA$(printf 'Z7QHX2MTRVB4KD5N')
k2=AKIA$(printf 'Q3WLPJ8NC6YHTE2R')
k3=AKIA$(printf 'M4DKS9GVF7XBQW3T')
mkdir -p "$tmp/pkg/lib" "$tmp/pkg/test"
cat >"$tmp/pkg/package.json" <<'JSON'
{"name":"@acme/sarif-demo","version":"1.0.0","main":"lib/index.js"}
JSON
printf 'module.exports = 1\n' >"$tmp/pkg/lib/index.js"
printf '// config\n// more\nconst id = "%s"\nmodule.exports = id\n' "$k1" \
    >"$tmp/pkg/lib/config.js"
printf 'const fake = "%s"\n' "$k2" >"$tmp/pkg/test/fixture.js"
printf 'const known = "%s"\n' "$k3" >"$tmp/pkg/lib/known.js"

# The fingerprint of k3 as scan prints it, for allow_findings.
cat >"$tmp/p0.yaml" <<'YAML'
version: 1
default: allow
rules:
  - match: "@acme/*"
    publish: allow
    secrets: block
YAML
"$pubgate" scan --json -p "$tmp/p0.yaml" "$tmp/pkg" >"$tmp/j0" || true
fp=$(node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1])).report
const x = r.reasons.find(x => x.file === "lib/known.js")
process.stdout.write(x ? x.fingerprint : "")' "$tmp/j0")
[ -n "$fp" ] || { echo "FAIL: no fingerprint for lib/known.js"; cat "$tmp/j0"; exit 1; }
cat >"$tmp/p.yaml" <<YAML
version: 1
default: allow
rules:
  - match: "@acme/*"
    publish: allow
    secrets: block
    secrets_in_tests: warn
    allow_findings:
      - { rule: "secret.*", file: "lib/known.js", fingerprint: "$fp" }
YAML

set +e
"$pubgate" scan --format sarif -p "$tmp/p.yaml" "$tmp/pkg" >"$tmp/dir.sarif"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "FAIL: scan --format sarif exit $rc, want 1"; fail=1; }
node "$here/sarif-validate.js" "$tmp/dir.sarif" >"$tmp/v" || {
	echo "FAIL: folder log is not valid SARIF 2.1.0"
	cat "$tmp/v"
	fail=1
}
cat "$tmp/v"
want() {	# want LINE: the validator printed it
	grep -qx "$1" "$tmp/v" || { echo "FAIL: want \"$1\""; fail=1; }
}
want "error secret.aws-access-key-id lib/config.js 3"
want "warning secret.aws-access-key-id test/fixture.js 1"
want "note secret.aws-access-key-id lib/known.js 1"
want "valid SARIF 2.1.0"
for k in "$k1" "$k2" "$k3"; do
	if grep -q "$k" "$tmp/dir.sarif"; then
		echo "FAIL: a secret value is in the SARIF log"
		fail=1
	fi
done
grep -q '"suppressions":\[{"kind":"external"' "$tmp/dir.sarif" ||
    { echo "FAIL: no suppression on the allowed finding"; fail=1; }

# A tarball: the same results, byte offsets and no lines.
(cd "$tmp/pkg" && npm pack --silent --ignore-scripts --offline \
    --pack-destination "$tmp" >/dev/null)
set +e
"$pubgate" scan --format sarif -p "$tmp/p.yaml" \
    "$tmp/acme-sarif-demo-1.0.0.tgz" >"$tmp/tgz.sarif"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "FAIL: tarball sarif exit $rc, want 1"; fail=1; }
node "$here/sarif-validate.js" "$tmp/tgz.sarif" >"$tmp/v" || {
	echo "FAIL: tarball log is not valid SARIF 2.1.0"
	cat "$tmp/v"
	fail=1
}
want "error secret.aws-access-key-id lib/config.js -"
grep -q '"byteOffset":' "$tmp/tgz.sarif" || { echo "FAIL: no byteOffset"; fail=1; }

# An allowed package: a valid log with no results, exit 0.
printf '{"name":"@acme/clean","version":"1.0.0"}\n' >"$tmp/clean.json"
mkdir "$tmp/clean" && mv "$tmp/clean.json" "$tmp/clean/package.json"
"$pubgate" scan --format sarif -p "$tmp/p.yaml" "$tmp/clean" >"$tmp/c.sarif" ||
    { echo "FAIL: clean package not allowed"; fail=1; }
node "$here/sarif-validate.js" "$tmp/c.sarif" >"$tmp/v" ||
    { echo "FAIL: empty log invalid"; cat "$tmp/v"; fail=1; }
# An error writes no log (exit 2, one line on stderr).
set +e
"$pubgate" scan --format sarif -p "$tmp/p.yaml" "$tmp/nope" >"$tmp/e.sarif" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 2 ] && [ ! -s "$tmp/e.sarif" ] ||
    { echo "FAIL: error: exit $rc, output $(wc -c <"$tmp/e.sarif") bytes"; fail=1; }

# The validator can fail: a level SARIF does not have.
sed 's/"level":"error"/"level":"fatal"/' "$tmp/dir.sarif" >"$tmp/bad.sarif"
if node "$here/sarif-validate.js" "$tmp/bad.sarif" >"$tmp/v"; then
	echo "FAIL: the validator accepted level fatal"
	fail=1
else
	echo "ok: the validator rejects a broken log"
fi
[ "$fail" -eq 0 ] && echo "ok: SARIF"
exit $fail
