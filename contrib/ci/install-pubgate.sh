#!/bin/sh
# contrib/ci/install-pubgate.sh: puts pubgate on a CI runner for the
# GitHub Action (action.yml beside it).  In order: a .deb given in
# PUBGATE_DEB (built by contrib/deb.sh) is installed with apt, which
# resolves its dependencies; a pubgate already on PATH is used; else
# pubgate is built from this source tree (the Build-Depends of
# contrib/debian/control from apt, meson, only the binary) into
# PUBGATE_PREFIX (default $RUNNER_TEMP/pubgate, else /tmp/pubgate) and its
# bin/ is added to GITHUB_PATH when that file is given.  Prints the
# version it ends with.  Root, or sudo, is needed for apt.
# Usage: install-pubgate.sh [--print-deps]  (the packages a build needs)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

# Build-Depends of contrib/debian/control, without versions and debhelper.
build_deps() {
	sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' \
	    "$src/contrib/debian/control" | sed '$d' |
	    sed 's/^Build-Depends://; s/([^)]*)//g' | tr ',' '\n' |
	    sed 's/[[:space:]]//g' | grep -v '^$' | grep -v '^debhelper'
}
if [ "${1:-}" = --print-deps ]; then
	build_deps
	exit 0
fi

if [ -n "${PUBGATE_DEB:-}" ]; then
	case $PUBGATE_DEB in
	/*) deb=$PUBGATE_DEB ;;
	*) deb=./$PUBGATE_DEB ;;
	esac
	$sudo apt-get install -y --no-install-recommends "$deb"
elif command -v pubgate >/dev/null 2>&1; then
	:
else
	prefix=${PUBGATE_PREFIX:-${RUNNER_TEMP:-/tmp}/pubgate}
	deps=$(build_deps)
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y --no-install-recommends $deps
	meson setup "$prefix/build" "$src" -Dtests=false \
	    -Dbuildtype=release --prefix "$prefix" >/dev/null
	ninja -C "$prefix/build" proxy/pubgate
	mkdir -p "$prefix/bin"
	cp "$prefix/build/proxy/pubgate" "$prefix/bin/pubgate"
	PATH=$prefix/bin:$PATH
	if [ -n "${GITHUB_PATH:-}" ]; then
		echo "$prefix/bin" >>"$GITHUB_PATH"
	fi
fi
pubgate --version
