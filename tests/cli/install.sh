#!/bin/sh
# tests/cli/install.sh: `meson install` into a DESTDIR puts every file in
# its FHS place (binary, man pages, completions, unit, sysusers, settings,
# examples); the installed binary runs; the man pages render without
# warnings and name every subcommand; the completions know every long
# option that `pubgate CMD --help` lists; the unit is hardened ("OK" in
# systemd-analyze security, where systemd-analyze exists).
# Usage: install.sh BUILDDIR PREFIX
set -eu
build=$1
prefix=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

if ! meson install -C "$build" --destdir "$tmp/root" --no-rebuild \
    >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "FAIL: meson install"
	exit 1
fi
r=$tmp/root$prefix
for f in bin/pubgate share/man/man1/pubgate.1 share/man/man5/pubgate.yaml.5 \
    share/man/man5/pubgate-policy.5 \
    share/bash-completion/completions/pubgate \
    share/zsh/vendor-completions/_pubgate \
    lib/systemd/system/pubgate.service lib/sysusers.d/pubgate.conf \
    share/doc/pubgate/README.md share/doc/pubgate/examples/pubgate.yaml \
    share/doc/pubgate/examples/strict.yaml share/doc/pubgate/examples/oss.yaml; do
	[ -s "$r/$f" ] && ok "installed $prefix/$f" || bad "missing $prefix/$f"
done
etc=$tmp/root$prefix/etc
[ "$prefix" = /usr ] && etc=$tmp/root/etc
[ -s "$etc/pubgate/pubgate.yaml" ] && ok "installed settings" ||
    bad "missing etc/pubgate/pubgate.yaml"
# Nothing of the tests or fuzzers is installed.
n=$(find "$tmp/root" -type f | wc -l)
[ "$n" -eq 14 ] && ok "14 files installed" || {
	bad "$n files installed, want 14"
	find "$tmp/root" -type f
}

pg=$r/bin/pubgate
"$pg" --version | grep -q '^pubgate [0-9]' && ok "installed pubgate runs" ||
    bad "installed pubgate --version"

# Man pages: render cleanly; pubgate(1) covers every subcommand, the
# settings page every key of the README table.
if command -v man >/dev/null 2>&1; then
	for p in man1/pubgate.1 man5/pubgate.yaml.5 man5/pubgate-policy.5; do
		if MANWIDTH=80 man --warnings -l "$r/share/man/$p" \
		    >"$tmp/page" 2>"$tmp/warn" && [ ! -s "$tmp/warn" ] &&
		    [ "$(wc -l <"$tmp/page")" -gt 30 ]; then
			ok "man $p renders"
		else
			bad "man $p: $(head -3 "$tmp/warn")"
		fi
	done
fi
for c in scan policy serve log show approve waivers revoke db ca version; do
	grep -q "^\.SS $c\$" "$r/share/man/man1/pubgate.1" && ok "pubgate(1): $c" ||
	    bad "pubgate(1) has no $c"
done

# Completions know every long option of every --help.
for c in scan policy serve log show approve waivers revoke db ca; do
	"$pg" "$c" --help | sed -n '/^options:/,/^examples:/p' |
	    grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/opts"
	while read -r o; do
		grep -q -- "$o\b" "$r/share/bash-completion/completions/pubgate" ||
		    bad "bash completion lacks $c $o"
		grep -q -- "$o\b" "$r/share/zsh/vendor-completions/_pubgate" ||
		    bad "zsh completion lacks $c $o"
	done <"$tmp/opts"
done
[ "$fail" -eq 0 ] && ok "completions know every option"
if command -v bash >/dev/null 2>&1; then
	bash -c ". '$r/share/bash-completion/completions/pubgate'
	    COMP_WORDS=(pubgate serve --up); COMP_CWORD=2; _pubgate
	    [ \"\${COMPREPLY[*]}\" = '--upstream --upstream-ca' ]" &&
	    ok "bash completes serve --up" || bad "bash completion of serve --up"
fi

# The unit: verified, and hardened to "OK".
u=$r/lib/systemd/system/pubgate.service
grep -q "^ExecStart=$prefix/bin/pubgate serve" "$u" && ok "unit runs $prefix/bin/pubgate" ||
    bad "unit ExecStart"
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$u" 2>&1 | grep -v "is not executable\|man pubgate" \
	    >"$tmp/verify" ||:
	[ -s "$tmp/verify" ] && bad "systemd-analyze verify: $(cat "$tmp/verify")" ||
	    ok "systemd-analyze verify"
	level=$(systemd-analyze security --offline=yes "$u" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for pubgate.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
	case $level in
	*" OK"|*" SAFE") ok "systemd-analyze security: $level" ;;
	*) bad "systemd-analyze security: '$level', want OK" ;;
	esac
else
	echo "skip: no systemd-analyze here (unit not verified)"
fi
exit $fail
