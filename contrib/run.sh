#!/bin/sh
# contrib/run.sh: the README's run command.  Installs what is missing,
# builds pubgate in build/ and runs `pubgate serve` on its working default:
# plain HTTP on http://127.0.0.1:8080 (loopback only), upstream
# https://registry.npmjs.org (TLS verified against the system store), the
# embedded strict policy, decisions in ./pubgate.db.  Extra arguments go to
# `pubgate serve` (for example -c contrib/pubgate.yaml, or --listen URL).
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "pubgate: try  npm --registry http://127.0.0.1:8080/ view lodash version" >&2
exec build/proxy/pubgate serve "$@"
