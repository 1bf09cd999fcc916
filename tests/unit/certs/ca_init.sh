#!/bin/sh
# tests/unit/certs/ca_init.sh: `pubgate ca init` end to end.  Creates a
# CA, checks the files and the printed lines, its name constraints
# (critical; permitted DNS registry.npmjs.org, or the -c settings'
# intercepted hosts plus --permit; every IP excluded), the refusals
# (exists, bad --days, no --out, bad --permit, bad -c: exit 2 with one
# line), then mints a leaf from the new CA and has real clients verify it:
# `openssl verify -CAfile ca.pem` and, when node is installed, a node TLS
# client that trusts the CA only through the printed NODE_EXTRA_CA_CERTS
# line.  What a thief of the CA key could do is tried too: leaves for a
# bank and for an IP address signed with the key by the openssl CLI are
# refused by `openssl verify` and by node (name constraints violated), and
# pubgate's own minting refuses the bank outright.  Last, the README's
# corporate recipe: an intermediate signed with contrib/egress-
# intermediate.cnf under a corporate root loads as a constrained CA and
# its leaves verify against the root.
#
# usage: ca_init.sh PUBGATE MINT_LEAF EGRESS_INTERMEDIATE_CNF
set -eu
PUBGATE=$1
MINT_LEAF=$2
CNF=$3
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
grep -q "^# name constraints: this CA can only certify registry.npmjs.org " \
    "$T/out" || fail "no name constraints line: $(cat "$T/out")"
openssl x509 -in "$CA" -noout -ext nameConstraints | tr -d ' ' |
    tr '\n' '|' >"$T/nc"
[ "$(cat "$T/nc")" = "X509v3NameConstraints:critical|Permitted:|DNS:registry.npmjs.org|Excluded:|IP:0.0.0.0/0.0.0.0|IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0|" ] ||
    fail "name constraints: $(cat "$T/nc")"

# -c: the settings' intercepted hosts (default list: registry.npmjs.org
# and the upstream's host), plus --permit.
printf '%s\n' "upstream: https://npm.corp.example" "egress:" \
    "  listen: http://127.0.0.1:3128" "  ca_cert: $T/ca2/ca.pem" \
    "  ca_key: $T/ca2/ca-key.pem" >"$T/pubgate.yaml"
"$PUBGATE" ca init --out "$T/ca2" -c "$T/pubgate.yaml" \
    --permit .Internal.Example >"$T/out2" 2>"$T/err" ||
    fail "ca init -c exited $?: $(cat "$T/err")"
openssl x509 -in "$T/ca2/ca.pem" -noout -ext nameConstraints |
    tr -d ' ' | grep '^DNS:' | tr '\n' ' ' >"$T/nc2"
[ "$(cat "$T/nc2")" = "DNS:registry.npmjs.org DNS:npm.corp.example DNS:.internal.example " ] ||
    fail "ca init -c: permitted $(cat "$T/nc2")"

# Refusals: exit 2, exactly one line on stderr, files untouched.
sum=$(cat "$T/ca/ca.pem" "$T/ca/ca-key.pem" | cksum)
for args in "--out $T/ca" "--out $T/other --days 0" "--out $T/other --days x" \
    "--name x" "--out" "--out $T/other --permit 10.0.0.1" \
    "--out $T/other --permit x..y" "--out $T/other --permit" \
    "--out $T/other -c $T/missing.yaml" "--out $T/other -c $T/out"; do
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

# pubgate mints nothing outside the constraints.
mkdir "$T/bank"
if "$MINT_LEAF" "$T/ca/ca.pem" "$T/ca/ca-key.pem" www.bank.example \
    "$T/bank" 2>"$T/err"; then
	fail "minted a leaf for www.bank.example"
fi
grep -q "outside the CA's name constraints" "$T/err" ||
    fail "bank refusal: $(cat "$T/err")"

# The stolen key: leaves signed with it by hand fail at the client.
# stolen NAME SAN: $T/bank/NAME.pem and NAME-key.pem, signed by the CA key.
stolen() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/bank/$1-key.pem" -out "$T/bank/$1.csr" -subj "/CN=$1" \
	    >/dev/null 2>&1 || fail "openssl req $1"
	printf '%s\n' "basicConstraints=CA:FALSE" "subjectAltName=$2" \
	    "extendedKeyUsage=serverAuth" >"$T/bank/$1.ext"
	openssl x509 -req -in "$T/bank/$1.csr" -CA "$T/ca/ca.pem" \
	    -CAkey "$T/ca/ca-key.pem" -set_serial 7 -days 1 \
	    -extfile "$T/bank/$1.ext" -out "$T/bank/$1.pem" >/dev/null 2>&1 ||
	    fail "openssl x509 -req $1"
}
stolen bank DNS:www.bank.example
stolen ip IP:192.0.2.1
stolen npm DNS:registry.npmjs.org
openssl verify -CAfile "$CA" -purpose sslserver "$T/bank/npm.pem" \
    >/dev/null 2>&1 || fail "openssl verify refused a registry leaf"
if openssl verify -CAfile "$CA" -purpose sslserver "$T/bank/bank.pem" \
    >"$T/v" 2>&1; then
	fail "openssl verify accepted a bank leaf from the CA key"
fi
grep -q "permitted subtree violation" "$T/v" || fail "bank: $(cat "$T/v")"
if openssl verify -CAfile "$CA" -purpose sslserver "$T/bank/ip.pem" \
    >"$T/v" 2>&1; then
	fail "openssl verify accepted an IP leaf from the CA key"
fi
grep -q "excluded subtree violation" "$T/v" || fail "ip: $(cat "$T/v")"

# node_tls KEY CERT NAME: a node TLS client that trusts the CA through
# NODE_EXTRA_CA_CERTS alone connects to a server with that key and chain
# as NAME; exit 0 if it verified, else 1 with the reason on stderr.
node_tls() {
	NODE_EXTRA_CA_CERTS=$CA KEY=$1 CERT=$2 NAME=$3 node -e '
const tls = require("tls"), fs = require("fs"), e = process.env;
const srv = tls.createServer({ key: fs.readFileSync(e.KEY),
    cert: fs.readFileSync(e.CERT) }, (s) => s.end("ok"));
srv.listen(0, "127.0.0.1", () => {
	const c = tls.connect({ host: "127.0.0.1", port: srv.address().port,
	    servername: e.NAME, rejectUnauthorized: false }, () => {
		const ok = c.authorized, why = c.authorizationError;
		c.end(); srv.close();
		if (!ok) { console.error(String(why)); process.exit(1); }
	});
	c.on("error", (x) => { console.error(String(x)); process.exit(1); });
});'
}

# node trusts the CA through NODE_EXTRA_CA_CERTS alone, and enforces its
# name constraints on a leaf made with the stolen key.
if command -v node >/dev/null 2>&1; then
	node_tls "$T/leaf/leaf-key.pem" "$T/leaf/leaf.pem" \
	    registry.npmjs.org 2>"$T/v" ||
	    fail "node did not verify the leaf: $(cat "$T/v")"
	if node_tls "$T/bank/bank-key.pem" "$T/bank/bank.pem" \
	    www.bank.example 2>"$T/v"; then
		fail "node accepted a bank leaf from the CA key"
	fi
	# node names X509_V_ERR_PERMITTED_VIOLATION "UNSPECIFIED" (it has
	# no code for it); openssl verify above names the reason.
	grep -q "UNSPECIFIED\|PERMITTED\|permitted subtree" "$T/v" ||
	    fail "node, bank leaf: $(cat "$T/v")"
else
	echo "node not installed: skipping the node TLS check"
fi

# The corporate recipe (README "Egress mode", contrib/egress-intermediate.cnf).
mkdir "$T/corp" "$T/corp/leaf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/corp/root.key" -out "$T/corp/root.pem" -days 2 \
    -subj "/CN=Corp Root" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 ||
    fail "openssl: corporate root"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/corp/ca-key.pem" -out "$T/corp/egress.csr" \
    -subj "/CN=pubgate egress CA" >/dev/null 2>&1 || fail "openssl: csr"
openssl x509 -req -in "$T/corp/egress.csr" -CA "$T/corp/root.pem" \
    -CAkey "$T/corp/root.key" -CAcreateserial -days 2 -out "$T/corp/ca.pem" \
    -extfile "$CNF" -extensions pubgate_egress_ca >/dev/null 2>&1 ||
    fail "openssl: signing with $CNF"
"$MINT_LEAF" "$T/corp/ca.pem" "$T/corp/ca-key.pem" registry.npmjs.org \
    "$T/corp/leaf" || fail "the corporate intermediate did not load"
openssl verify -CAfile "$T/corp/root.pem" -untrusted "$T/corp/leaf/leaf.pem" \
    -purpose sslserver -verify_hostname registry.npmjs.org \
    "$T/corp/leaf/leaf.pem" >/dev/null || fail "corporate leaf refused"
if "$MINT_LEAF" "$T/corp/ca.pem" "$T/corp/ca-key.pem" www.bank.example \
    "$T/corp/leaf" 2>/dev/null; then
	fail "the corporate intermediate minted for www.bank.example"
fi
echo "ok"
