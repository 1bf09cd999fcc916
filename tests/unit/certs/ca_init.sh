#!/bin/sh
# tests/unit/certs/ca_init.sh: `pubgate ca init` end to end.  Creates a
# CA, checks the files and the printed lines, the refusals (exists, bad
# --days, no --out: exit 2 with one line), then mints a leaf from the new
# CA and has real clients verify it: `openssl verify -CAfile ca.pem` and,
# when node is installed, a node TLS client that trusts the CA only
# through the printed NODE_EXTRA_CA_CERTS line.
#
# usage: ca_init.sh PUBGATE MINT_LEAF
set -eu
PUBGATE=$1
MINT_LEAF=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/ca-init.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$PUBGATE" ca init --out "$T/ca" --name "pubgate test CA" --days 30 \
    >"$T/out" 2>"$T/err" || fail "ca init exited $?: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "ca init wrote to stderr: $(cat "$T/err")"
CA=$(cd "$T/ca" && pwd)/ca.pem
grep -qx "cafile=$CA" "$T/out" || fail "no cafile= line: $(cat "$T/out")"
grep -qx "NODE_EXTRA_CA_CERTS=$CA" "$T/out" ||
    fail "no NODE_EXTRA_CA_CERTS= line"
[ "$(stat -c %a "$T/ca/ca-key.pem")" = 600 ] || fail "key not 0600"
[ "$(stat -c %a "$T/ca")" = 700 ] || fail "directory not 0700"
openssl x509 -in "$CA" -noout -subject | grep -q "pubgate test CA" ||
    fail "wrong subject"

# Refusals: exit 2, exactly one line on stderr, files untouched.
sum=$(cat "$T/ca/ca.pem" "$T/ca/ca-key.pem" | cksum)
for args in "--out $T/ca" "--out $T/other --days 0" "--out $T/other --days x" \
    "--name x" "--out"; do
	rc=0
	# shellcheck disable=SC2086
	"$PUBGATE" ca init $args >"$T/out2" 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || fail "ca init $args: exit $rc, want 2"
	[ "$(wc -l <"$T/err")" = 1 ] || fail "ca init $args: stderr not one line"
	[ ! -s "$T/out2" ] || fail "ca init $args: wrote to stdout"
done
[ "$(cat "$T/ca/ca.pem" "$T/ca/ca-key.pem" | cksum)" = "$sum" ] ||
    fail "files changed by a refused run"
[ ! -e "$T/other" ] || [ -z "$(ls -A "$T/other")" ] ||
    fail "a refused run left files"

# A leaf minted from the new CA verifies against it, for its host only.
mkdir "$T/leaf"
"$MINT_LEAF" "$T/ca/ca.pem" "$T/ca/ca-key.pem" registry.npmjs.org "$T/leaf"
openssl verify -CAfile "$CA" -purpose sslserver \
    -verify_hostname registry.npmjs.org "$T/leaf/leaf.pem" >/dev/null ||
    fail "openssl verify refused the leaf"
if openssl verify -CAfile "$CA" -verify_hostname evil.example \
    "$T/leaf/leaf.pem" >/dev/null 2>&1; then
	fail "openssl verify accepted the wrong host"
fi

# node trusts the CA through NODE_EXTRA_CA_CERTS alone.
if command -v node >/dev/null 2>&1; then
	NODE_EXTRA_CA_CERTS=$CA LEAF_DIR=$T/leaf node -e '
const tls = require("tls"), fs = require("fs"), d = process.env.LEAF_DIR;
const srv = tls.createServer({ key: fs.readFileSync(d + "/leaf-key.pem"),
    cert: fs.readFileSync(d + "/leaf.pem") }, (s) => s.end("ok"));
srv.listen(0, "127.0.0.1", () => {
	const c = tls.connect({ host: "127.0.0.1", port: srv.address().port,
	    servername: "registry.npmjs.org" }, () => {
		const ok = c.authorized;
		c.end(); srv.close();
		if (!ok) { console.error(c.authorizationError); process.exit(1); }
	});
	c.on("error", (e) => { console.error(String(e)); process.exit(1); });
});' || fail "node did not verify the leaf with NODE_EXTRA_CA_CERTS"
else
	echo "node not installed: skipping the node TLS check"
fi
echo "ok"
