#!/bin/sh
# tests/cli/deb.sh: the Debian package, built and installed on this
# machine (no container runtime is needed; a root shell is).
#   - contrib/deb.sh builds pubgate_<version>_<arch>.deb (non-ASan,
#     -Dtests=false); its Depends come from shlibs (libevent, libssl3,
#     ...), its files are the meson install set with the unit under
#     /lib/systemd/system and nothing of the tests;
#   - `apt-get install ./pubgate_*.deb` (apt resolves the dependencies)
#     installs it: `pubgate --version` says the meson version, `man
#     pubgate` finds and renders the page, the unit passes
#     `systemd-analyze verify` and scores OK in `systemd-analyze security`,
#     the user pubgate exists, the installed settings pass `serve -n`;
#   - `apt-get purge` removes it: no file of the package is left, nor
#     /etc/pubgate, /var/lib/pubgate or an enablement symlink.
# Skips (77) without root, apt or debhelper, or when a pubgate package is
# already installed (it is not replaced).
# Usage: deb.sh SRCDIR
set -eu
src=$1
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: installing a .deb needs root"
	exit 77
fi
for t in apt-get dpkg-buildpackage dh; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "SKIP: no $t (contrib/install-deps.sh installs debhelper)"
		exit 77
	}
done
if dpkg-query -W -f='${Status}' pubgate 2>/dev/null | grep -q 'ok installed'; then
	echo "SKIP: a pubgate package is installed here; not replacing it"
	exit 77
fi
tmp=$(mktemp -d)
installed=0
cleanup() {
	[ "$installed" -eq 1 ] &&
	    apt-get purge -y -q -o DPkg::Lock::Timeout=120 pubgate \
	    >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

start=$(date +%s)
"$src/contrib/deb.sh" "$tmp" >"$tmp/deb.out" || {
	cat "$tmp/deb.out"
	echo "FAIL: contrib/deb.sh"
	exit 1
}
deb=$(tail -n 1 "$tmp/deb.out")
ok "built $(basename "$deb") in $(($(date +%s) - start)) s"
version=$(sed -n "s/^  version: '\([^']*\)',\$/\1/p" "$src/meson.build")
case $(basename "$deb") in
pubgate_"$version"_*.deb) ok "named for version $version" ;;
*) bad "deb name $(basename "$deb")" ;;
esac

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libevent-core libssl3 libyaml libsqlite3 libpq5 zlib1g libc6; do
	echo "$depends" | grep -q "$lib" && ok "Depends names $lib" ||
	    bad "Depends lacks $lib: $depends"
done
echo "$depends" | grep -q 'shlibs' && bad "unresolved shlibs: $depends"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' |
    grep -v '/$' | sort >"$tmp/files"
for f in /usr/bin/pubgate /usr/share/man/man1/pubgate.1.gz \
    /usr/share/man/man5/pubgate.yaml.5.gz \
    /usr/share/man/man5/pubgate-policy.5.gz \
    /lib/systemd/system/pubgate.service /usr/lib/sysusers.d/pubgate.conf \
    /etc/pubgate/pubgate.yaml /usr/share/bash-completion/completions/pubgate \
    /usr/share/zsh/vendor-completions/_pubgate; do
	grep -qx "$f" "$tmp/files" && ok "ships $f" || bad "does not ship $f"
done
grep -E 'test|fuzz|replay' "$tmp/files" && bad "ships test files"

if apt-get install -y -q -o DPkg::Lock::Timeout=120 "$deb" \
    >"$tmp/apt.out" 2>&1; then
	installed=1
	ok "apt-get install ./$(basename "$deb")"
else
	cat "$tmp/apt.out"
	bad "apt-get install"
	exit 1
fi
[ "$(command -v pubgate)" = /usr/bin/pubgate ] && ok "pubgate on PATH" ||
    bad "pubgate is $(command -v pubgate)"
[ "$(/usr/bin/pubgate --version)" = "pubgate $version" ] &&
    ok "pubgate --version: $version" || bad "--version: $(/usr/bin/pubgate --version)"
if command -v man >/dev/null 2>&1; then
	[ "$(man -w pubgate)" = /usr/share/man/man1/pubgate.1.gz ] &&
	    ok "man -w pubgate" || bad "man -w pubgate: $(man -w pubgate)"
	MANWIDTH=80 man pubgate 2>"$tmp/manerr" | grep -q 'pubgate serve' &&
	    [ ! -s "$tmp/manerr" ] && ok "man pubgate renders" ||
	    bad "man pubgate: $(head -3 "$tmp/manerr")"
	man -w pubgate.yaml >/dev/null 2>&1 && ok "man pubgate.yaml" ||
	    bad "man pubgate.yaml"
fi
getent passwd pubgate >/dev/null && ok "user pubgate" || bad "no user pubgate"
# The folders systemd makes at start (StateDirectory=, CacheDirectory=,
# LogsDirectory=), with what the service would leave in them.
mkdir -p /var/lib/pubgate /var/cache/pubgate /var/log/pubgate
touch /var/lib/pubgate/pubgate.db
/usr/bin/pubgate serve -n -c /etc/pubgate/pubgate.yaml >"$tmp/n.out" 2>&1 &&
    ok "serve -n on the installed settings" || bad "serve -n: $(cat "$tmp/n.out")"
if command -v systemd-analyze >/dev/null 2>&1; then
	if systemd-analyze verify /lib/systemd/system/pubgate.service \
	    >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]; then
		ok "systemd-analyze verify"
	else
		bad "systemd-analyze verify: $(cat "$tmp/verify")"
	fi
	level=$(systemd-analyze security --offline=true \
	    /lib/systemd/system/pubgate.service 2>/dev/null |
	    sed -n 's/.*Overall exposure level for pubgate.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
	case $level in
	*" OK" | *" SAFE") ok "systemd-analyze security: $level" ;;
	*) bad "systemd-analyze security: '$level'" ;;
	esac
else
	echo "note: no systemd-analyze here; the unit is checked by install.sh"
fi

if apt-get purge -y -q -o DPkg::Lock::Timeout=120 pubgate \
    >"$tmp/purge.out" 2>&1; then
	installed=0
	ok "apt-get purge pubgate"
else
	cat "$tmp/purge.out"
	bad "apt-get purge"
fi
left=
while read -r f; do
	[ -e "$f" ] && left="$left $f"
done <"$tmp/files"
[ -z "$left" ] && ok "no file of the package left" || bad "left:$left"
for d in /etc/pubgate /var/lib/pubgate /var/log/pubgate /var/cache/pubgate \
    /etc/systemd/system/multi-user.target.wants/pubgate.service; do
	[ -e "$d" ] && bad "left: $d"
done
dpkg-query -W -f='${Status}' pubgate 2>/dev/null | grep -q 'ok installed' &&
    bad "dpkg still knows pubgate"
[ "$fail" -eq 0 ] && ok "the package installs and purges cleanly"
exit "$fail"
