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
exit $fail
