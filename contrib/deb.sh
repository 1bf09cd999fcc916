#!/bin/sh
# contrib/deb.sh: builds the Debian package pubgate_<version>_<arch>.deb
# from this checkout: the tracked (and new, not ignored) files are copied
# into a clean tree, contrib/debian/ becomes its debian/, and
# dpkg-buildpackage builds the binary package (meson through debhelper,
# -Dtests=false, Debian's hardening flags; dependencies from shlibs).
# Needs the build dependencies of contrib/debian/control and debhelper
# (contrib/install-deps.sh).  Install the result with
#   apt install ./pubgate_<version>_<arch>.deb
# Usage: contrib/deb.sh [OUTDIR]   (default: the current directory)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "${1:-.}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(sed -n "s/^  version: '\([^']*\)',\$/\1/p" "$src/meson.build")
deb_version=$(sed -n '1s/^pubgate (\([^)]*\)).*/\1/p' \
    "$src/contrib/debian/changelog")
if [ "$version" != "$deb_version" ]; then
	echo "deb.sh: meson.build says $version, contrib/debian/changelog" \
	    "says $deb_version: add a changelog entry" >&2
	exit 2
fi
if command -v dpkg-checkbuilddeps >/dev/null 2>&1; then
	(cd "$src/contrib" && dpkg-checkbuilddeps debian/control) || {
		echo "deb.sh: missing build dependencies" \
		    "(contrib/install-deps.sh)" >&2
		exit 2
	}
fi

tree=$tmp/pubgate-$version
mkdir -p "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build*' --exclude=node_modules \
	    -cf - .) | tar -xf - -C "$tree"
fi
rm -rf "$tree/debian"
cp -r "$tree/contrib/debian" "$tree/debian"

echo "deb.sh: building pubgate $version in $tree" >&2
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
    dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1) || {
	tail -n 60 "$tmp/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
for f in "$tmp"/pubgate_"$version"_*.deb; do
	cp "$f" "$out/"
	echo "$out/$(basename "$f")"
done
