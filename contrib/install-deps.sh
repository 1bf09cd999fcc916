#!/bin/sh
# contrib/install-deps.sh: installs the Debian 12 packages pubgate builds,
# tests and benchmarks with. Idempotent; does nothing when all are present.
# Usage: contrib/install-deps.sh [--bench]
set -eu
pkgs="build-essential pkg-config meson ninja-build clang libevent-dev libssl-dev
 libyaml-dev zlib1g-dev node-llhttp libhyperscan-dev libisal-dev libsqlite3-dev
 sqlite3 libpq-dev postgresql libcmocka-dev curl openssl ca-certificates"
# The test suite drives the real npm client; Debian's nodejs only when no
# node is installed (a NodeSource node already carries npm).
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
# tests/integration/metrics: promtool (check metrics, check rules).
pkgs="$pkgs prometheus"
# tests/cli/deb (contrib/deb.sh): dpkg-buildpackage with debhelper.
pkgs="$pkgs debhelper"
# tests/cli/container lint: the compose file is parsed with PyYAML.
pkgs="$pkgs python3-yaml"
# tests/integration/fleet-haproxy: HAProxy in front of two gates.
pkgs="$pkgs haproxy"
# tests/integration/console: the web console in a real headless browser.
pkgs="$pkgs chromium"
# tests/cli/container run: podman builds and runs the image (runc: crun
# refuses hybrid cgroup hierarchies); debootstrap makes the Debian 12 base
# image where no registry of images is reachable.
pkgs="$pkgs podman runc netavark aardvark-dns iptables debootstrap"
if [ "${1:-}" = "--bench" ]; then
	pkgs="$pkgs nginx-light wrk"
fi
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
