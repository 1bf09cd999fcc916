#!/bin/sh
# contrib/test.sh: the README's test command, and what .ci/run runs.
# Installs what is missing (Debian packages, the npm packages the
# integration tests and tests/scan use), builds with ASan+UBSan in build-test/ and runs
# every test suite: unit, fuzz corpus replay, integration.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
tests/integration/install.sh
tests/scan/install.sh
if [ ! -f build-test/build.ninja ]; then
	meson setup build-test -Db_sanitize=address,undefined \
	    -Dbuildtype=debugoptimized >/dev/null
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C build-test --print-errorlogs --num-processes 2 "$@"
