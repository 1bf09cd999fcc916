#!/bin/sh
# tests/scan/real-packages.sh: false-positive guard on real packages.
# Packs lodash, rxjs and typescript from the npm registry (cached in the
# build tree) and requires `pubgate scan` to allow each under the OSS
# policy, and the strict policy to refuse them (not an @acme package).
# Usage: real-packages.sh PUBGATE SRCDIR CACHEDIR
set -eu
pubgate=$1
src=$2
cache=$3
mkdir -p "$cache"
for spec in lodash@4.17.21 rxjs@7.8.1 typescript@5.4.5; do
	name=${spec%@*}
	if ! ls "$cache/$name"-*.tgz >/dev/null 2>&1; then
		(cd "$cache" && npm pack --silent "$spec" >/dev/null) || {
			echo "FAIL: npm pack $spec (the npm registry must be reachable)"
			exit 1
		}
	fi
done
fail=0
for t in "$cache"/*.tgz; do
	if out=$("$pubgate" scan -p "$src/contrib/policies/oss.yaml" "$t"); then
		echo "ok: oss policy allows $(basename "$t")"
	else
		echo "FAIL: oss policy blocks $(basename "$t"):"
		echo "$out"
		fail=1
	fi
	set +e
	"$pubgate" scan -p "$src/contrib/policies/strict.yaml" "$t" >/dev/null
	rc=$?
	set -e
	if [ "$rc" -ne 1 ]; then
		echo "FAIL: strict policy gave exit $rc for $(basename "$t"), want 1"
		fail=1
	fi
done
exit $fail
