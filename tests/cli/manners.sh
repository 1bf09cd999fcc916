#!/bin/sh
# tests/cli/manners.sh: the CLI's manners, as a new user meets them (issue
# 12): every subcommand answers -h and --help (anywhere before --) with its
# usage, a description and examples, exit 0; pubgate help --man is roff;
# a bad flag is exit 2 with one line on stderr that names it; serve -n
# names the flag or file:line:col at fault and reports every problem at
# once; a plain-http upstream that is not loopback is refused unless
# allow_insecure_upstream: true (then warned about); scan of something that
# is not a publish is exit 2 with one line.
# Usage: manners.sh PUBGATE SRCDIR
set -eu
pubgate=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# run RC DESCRIPTION -- command...: exit code RC; output in $tmp/out, err.
run() {
	want=$1 what=$2
	shift 3
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	if [ "$rc" -ne "$want" ]; then
		bad "$what: exit $rc, want $want"
		sed 's/^/    /' "$tmp/out" "$tmp/err"
		return 1
	fi
	return 0
}

# one_line DESCRIPTION NEEDLE: stderr is exactly one line containing NEEDLE.
one_line() {
	n=$(wc -l <"$tmp/err")
	if [ "$n" -ne 1 ]; then
		bad "$1: $n lines on stderr, want 1"
		sed 's/^/    /' "$tmp/err"
	elif ! grep -qF -- "$2" "$tmp/err"; then
		bad "$1: stderr does not name $2: $(cat "$tmp/err")"
	else
		ok "$1: $(cat "$tmp/err")"
	fi
}

# --help and -h for every subcommand, also after other arguments.
for c in scan "policy check" policy serve log show approve waivers revoke "db migrate" db "ca init" ca version; do
	for h in --help -h; do
		# shellcheck disable=SC2086
		run 0 "pubgate $c $h" -- "$pubgate" $c $h || continue
		if ! head -1 "$tmp/out" | grep -q '^usage: pubgate '; then
			bad "pubgate $c $h: no usage line"
		elif [ "$(wc -l <"$tmp/out")" -lt 4 ]; then
			bad "pubgate $c $h: no description"
		elif [ -s "$tmp/err" ]; then
			bad "pubgate $c $h: wrote to stderr"
		else
			ok "pubgate $c $h"
		fi
	done
done
for c in scan serve log show approve waivers revoke "db migrate" "ca init" "policy check"; do
	# shellcheck disable=SC2086
	run 0 "pubgate $c ... --help" -- "$pubgate" $c x --help &&
	    grep -q '^examples:' "$tmp/out" && ok "$c: help has examples" ||
	    bad "pubgate $c x --help: no examples"
done
run 0 "pubgate help" -- "$pubgate" help && ok "pubgate help"
run 0 "pubgate help serve" -- "$pubgate" help serve &&
    grep -q 'allow_insecure_upstream' "$tmp/out" && ok "pubgate help serve" ||
    bad "pubgate help serve: no description"
run 0 "pubgate --version" -- "$pubgate" --version &&
    grep -q '^pubgate [0-9]' "$tmp/out" && ok "pubgate --version"
run 0 "help --man" -- "$pubgate" help --man &&
    grep -q '^\.TH PUBGATE 1' "$tmp/out" && ok "pubgate help --man is roff" ||
    bad "pubgate help --man: no .TH"
# A file named --help is still reachable after --.
run 2 "policy check -- --help" -- "$pubgate" policy check -- --help ||:
run 2 "unknown command" -- "$pubgate" frobnicate &&
    one_line "unknown command" frobnicate

# Bad flags: exit 2, one line naming the flag.
for c in scan serve log show approve waivers revoke "ca init" "policy check"; do
	# shellcheck disable=SC2086
	run 2 "pubgate $c --bogus" -- "$pubgate" $c --bogus &&
	    one_line "pubgate $c --bogus" --bogus
done
run 2 "scan -p without value" -- "$pubgate" scan -p &&
    one_line "scan -p without value" "-p"
run 2 "serve extra argument" -- "$pubgate" serve stray &&
    one_line "serve extra argument" stray

# serve -n: the flag is blamed, not "(defaults)".
run 2 "serve -n --listen ftp://x" -- "$pubgate" serve -n --listen ftp://x &&
    one_line "bad --listen" "--listen: listen ftp://x"
run 2 "serve -n --listen :99999" -- "$pubgate" serve -n \
    --listen http://127.0.0.1:99999 &&
    one_line "bad --listen port" "--listen: listen http://127.0.0.1:99999: bad port"
run 2 "serve -n --admin https" -- "$pubgate" serve -n \
    --admin https://127.0.0.1:9 && one_line "bad --admin" "--admin: "

# serve -n: every problem at once, each at its file:line:col.
cat >"$tmp/many.yaml" <<YAML
listen:
  - url: https://127.0.0.1:8443
    cert: $tmp/missing-cert.pem
    key: $tmp/missing-key.pem
upstream: http://registry.example
policy: $tmp/missing-policy.yaml
spool_dir: $tmp/no-such-spool
db: $tmp/no-such-dir/decisions.db
workres: 2
YAML
if run 2 "serve -n many problems" -- "$pubgate" serve -n -c "$tmp/many.yaml"; then
	for want in "many.yaml:9:1: unknown key \"workres\"" \
	    "many.yaml:5:11: upstream http://registry.example: plain http" \
	    "many.yaml:2:10: listen https://127.0.0.1:8443: cert $tmp/missing-cert.pem" \
	    "many.yaml:2:10: listen https://127.0.0.1:8443: key $tmp/missing-key.pem" \
	    "missing-policy.yaml" \
	    "many.yaml:7:12: spool_dir $tmp/no-such-spool" \
	    "many.yaml:8:5: db $tmp/no-such-dir/decisions.db"; do
		if grep -qF -- "$want" "$tmp/err"; then
			ok "serve -n reports: $want"
		else
			bad "serve -n does not report: $want"
			sed 's/^/    /' "$tmp/err"
		fi
	done
	[ "$(wc -l <"$tmp/err")" -eq 7 ] && ok "serve -n: 7 lines, one per problem" ||
	    bad "serve -n: $(wc -l <"$tmp/err") lines, want 7"
fi

# Plain-http upstream: loopback only, unless written in the settings.
run 2 "http upstream refused" -- "$pubgate" serve -n \
    --upstream http://registry.npmjs.org --db "$tmp/x.db" &&
    one_line "http upstream refused" "allow_insecure_upstream: true"
run 0 "http loopback upstream" -- "$pubgate" serve -n \
    --upstream http://127.0.0.1:4873 --db "$tmp/x.db" &&
    ok "http loopback upstream accepted"
cat >"$tmp/insecure.yaml" <<YAML
upstream: http://registry.corp.example:4873
allow_insecure_upstream: true
db: $tmp/x.db
YAML
if run 0 "allow_insecure_upstream" -- "$pubgate" serve -n -c "$tmp/insecure.yaml"; then
	grep -q '^warning: .*insecure.yaml:1:11: upstream http://registry.corp.example:4873' \
	    "$tmp/err" && ok "allow_insecure_upstream warns" ||
	    bad "allow_insecure_upstream: no warning: $(cat "$tmp/err")"
fi

# scan: neither a tarball nor a publish body is an error, not an ALLOW.
printf '{"name":"x","version":"1.0.0"}\n' >"$tmp/package.json"
run 2 "scan package.json" -- "$pubgate" scan "$tmp/package.json" &&
    one_line "scan package.json" "not a package tarball"
run 2 "scan README" -- "$pubgate" scan "$src/README.md" &&
    one_line "scan README" "not a package tarball"
: >"$tmp/empty"
run 2 "scan empty file" -- "$pubgate" scan "$tmp/empty" &&
    one_line "scan empty file" "not a package tarball"
mkdir "$tmp/nopkg"
run 2 "scan a folder without package.json" -- "$pubgate" scan "$tmp/nopkg" &&
    one_line "scan a folder without package.json" "no package.json"
[ -s "$tmp/out" ] && bad "scan printed a verdict for a non-publish" ||:

# libpq is loaded only for a PostgreSQL store (store/pq.c): the binary
# does not need it, nor what it drags in (Kerberos, LDAP, GnuTLS), so a
# scan or a gate on SQLite starts without them.
needed=$(readelf -d "$pubgate" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
case " $(echo $needed) " in
*libpq*|*krb5*|*ldap*|*gnutls*)
	bad "the binary links libpq or its dependencies: $(echo $needed)" ;;
*libcrypto*)
	ok "NEEDED without libpq: $(echo $needed)" ;;
*)
	bad "readelf listed no libcrypto (did it run?): $(echo $needed)" ;;
esac
# Hyperscan linked statically (meson -Dstatic_hyperscan, on when libhs.a
# and libstdc++.a are there; issue 13, startup): neither it nor the C++
# runtime is loaded at start.  STATIC_HS comes from tests/cli/meson.build.
case "${STATIC_HS:-}" in
true)
	case " $(echo $needed) " in
	*libhs*|*libstdc++*|*libgcc_s*)
		bad "static_hyperscan build needs: $(echo $needed)" ;;
	*)
		ok "NEEDED without libhs, libstdc++, libgcc_s" ;;
	esac ;;
false)
	case " $(echo $needed) " in
	*libhs.so*)
		ok "NEEDED has libhs.so (static_hyperscan off)" ;;
	*)
		bad "a shared-Hyperscan build without libhs.so: $(echo $needed)" ;;
	esac ;;
*)
	bad "STATIC_HS not set by meson" ;;
esac
# Hyperscan reports a pattern it cannot compile by a C++ exception caught
# inside it: with the runtime linked in, that is still one line, exit 2.
cat >"$tmp/badre.yaml" <<'EOF'
version: 1
name: bad custom pattern
default: deny
rules:
  - match: "*"
    publish: allow
    custom_secrets: [ { id: acme-token, regex: 'acme_(' } ]
EOF
run 2 "policy check of a custom pattern that does not compile" -- \
    env PUBGATE_CACHE_DIR= "$pubgate" policy check "$tmp/badre.yaml" &&
    one_line "policy check of a custom pattern that does not compile" \
    "badre.yaml:7:"
# A PostgreSQL URL reaches libpq through dlopen: a malformed one is
# refused by libpq's own parser, one line, exit 2.
run 2 "log on a malformed PostgreSQL URL" -- "$pubgate" log \
    --db 'postgresql://x@/db?nosuchoption=1' &&
    one_line "log on a malformed PostgreSQL URL" "nosuchoption"

exit $fail
