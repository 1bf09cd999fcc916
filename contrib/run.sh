#!/bin/sh
# contrib/run.sh: the README's run command.  Installs what is missing,
# builds pubgate in build/ and runs it on a working default.
# Until the proxy lands it demonstrates `pubgate scan` with the embedded
# strict policy on an example package (packed with npm) that leaks a map.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exe=build/proxy/pubgate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd contrib/examples/leaky && npm pack --silent --pack-destination "$tmp" >/dev/null)
set +e
"$exe" scan -p contrib/policies/strict.yaml "$tmp"/*.tgz
rc=$?
set -e
echo "pubgate scan exit code: $rc (0 allow, 1 block, 2 error)"
[ "$rc" -ne 2 ]
