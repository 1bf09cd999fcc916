# tests/integration/egress-lib.sh: egress-mode helpers, sourced after
# lib.sh by the egress-* scenarios (lib.sh is not changed for them).
#
#   eg_make_ca       a corporate CA with an intermediate: $T/eg/root.pem
#                    (what clients trust), $T/eg/int.{pem,key} (what
#                    pubgate signs leaves with, --ca-cert/--ca-key);
#   eg_start         the test CA (it_make_ca), a Verdaccio serving TLS as
#                    registry.npmjs.org (cert from the test CA, trusted by
#                    pubgate through --upstream-ca), and pubgate with its
#                    egress listener on http://127.0.0.1:$EG_PORT where
#                    registry.npmjs.org is intercepted and mapped to that
#                    Verdaccio: nothing reaches the real registry;
#   eg_write_npmrc   $T/npmrc.egress: registry=https://registry.npmjs.org/
#                    through https-proxy, cafile = the corporate root;
#   eg_npm           the real npm with that npmrc (NO_PROXY cleared, since
#                    lib.sh sets it to '*' for the other scenarios).

# eg_make_ca: root -> intermediate, both P-256.  The intermediate is
# issued the way README "Egress mode" asks a corporate PKI to: critical
# name constraints permitting registry.npmjs.org only, no IP address
# (pubgate refuses a CA without them by default).
eg_make_ca() {
	mkdir -p "$T/eg"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/eg/root.key" -out "$T/eg/root.pem" -days 2 \
	    -subj "/CN=pubgate egress test root" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    >/dev/null 2>&1 || it_fail "openssl: cannot make the egress root"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/eg/int.key" -out "$T/eg/int.csr" \
	    -subj "/CN=pubgate egress test intermediate" \
	    >/dev/null 2>&1 || it_fail "openssl: cannot make the intermediate"
	printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
	    "keyUsage=critical,keyCertSign,cRLSign" \
	    "nameConstraints=critical,permitted;DNS:registry.npmjs.org,excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::" \
	    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
	    >"$T/eg/int.ext"
	openssl x509 -req -in "$T/eg/int.csr" -CA "$T/eg/root.pem" \
	    -CAkey "$T/eg/root.key" -CAcreateserial -days 2 \
	    -extfile "$T/eg/int.ext" -out "$T/eg/int.pem" >/dev/null 2>&1 ||
	    it_fail "openssl: cannot sign the intermediate"
}

# eg_start [ARGS...]: everything up; extra ARGS go to pubgate serve.
eg_start() {
	it_make_ca
	eg_make_ca
	it_cert registry "DNS:registry.npmjs.org,IP:127.0.0.1" ca
	it_start_verdaccio registry
	it_adduser alice
	EG_PORT=$(it_free_port)
	EG_URL="http://127.0.0.1:$EG_PORT"
	it_start_pubgate --upstream-ca "$T/ca.pem" -v \
	    --egress-listen "$EG_URL" \
	    --ca-cert "$T/eg/int.pem" --ca-key "$T/eg/int.key" \
	    --intercept "registry.npmjs.org=127.0.0.1:$VD_PORT" "$@"
	eg_write_npmrc
}

eg_write_npmrc() {
	cat >"$T/npmrc.egress" <<EOF2
registry=https://registry.npmjs.org/
https-proxy=$EG_URL/
noproxy=
cafile=$T/eg/root.pem
//registry.npmjs.org/:_authToken=$TOKEN
fund=false
audit=false
update-notifier=false
EOF2
}

# eg_npm ARGS...: npm through the egress listener; output in $T/npm.*.
eg_npm() {
	env -u NO_PROXY -u no_proxy -u npm_config_noproxy \
	    npm --userconfig "$T/npmrc.egress" "$@" \
	    >"$T/npm.out" 2>"$T/npm.err"
}

# eg_curl ARGS...: curl through the egress listener, trusting the root.
eg_curl() {
	env -u NO_PROXY -u no_proxy curl -sS --proxy "$EG_URL" \
	    --cacert "$T/eg/root.pem" "$@"
}

# eg_vd_has NAME VERSION: like it_vd_has, for the TLS Verdaccio.
eg_vd_has() {
	local enc=${1/\//%2f} out="$T/vd-packument.json"
	[ "$(curl -s --cacert "$T/ca.pem" -o "$out" -w '%{http_code}' \
	    "$VD_URL/$enc")" = 200 ] || return 1
	it_json "d.versions && d.versions['$2'] ? 'yes' : undefined" \
	    "$out" >/dev/null
}
