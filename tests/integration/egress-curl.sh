#!/bin/bash
# tests/integration/egress-curl.sh: the egress gateway against raw clients.
#   - `curl --proxy ... -X PUT https://registry.npmjs.org/<pkg>` with a
#     private: true body is blocked (403, JSON error naming private) and
#     never reaches Verdaccio;
#   - `openssl s_client -proxy ... -servername registry.npmjs.org` trusting
#     only the root sees leaf + intermediate and verifies (code 0); a
#     second connection reuses the cached leaf (access line leaf=hit,
#     and the admin metrics);
#   - an SNI other than the CONNECT host aborts the handshake;
#   - an absolute-form http:// GET to the intercepted host is served;
#   - a CONNECT to a host in no list is refused (403); a CONNECT to an IP
#     literal or a port outside allow_ports is refused;
#   - restarted with --tunnel localhost (and the port allowed), the same
#     CONNECT is relayed blindly to a local `openssl s_server`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/egress-lib.sh"
it_init
ADMIN_PORT=$(it_free_port)
eg_start --admin "http://127.0.0.1:$ADMIN_PORT"

# A private package PUT straight at "registry.npmjs.org", through the proxy.
pkg="$T/priv"
it_pkg "$pkg" @pgtest/egress-priv 1.0.0
node -e '
	const f = process.argv[1], p = require(f);
	p.private = true;
	require("fs").writeFileSync(f, JSON.stringify(p, null, 2));
' "$pkg/package.json"
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/pgtest-egress-priv-1.0.0.tgz" @pgtest/egress-priv 1.0.0 \
    restricted >"$T/body.json"
code=$(eg_curl -o "$T/resp.json" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/body.json" \
    "https://registry.npmjs.org/@pgtest%2fegress-priv") ||
    it_fail "curl PUT through the proxy failed"
it_expect_eq "$code" 403 "status of a private publish through the proxy"
grep -qi private <<<"$(it_json 'd.error' "$T/resp.json")" ||
    it_fail "the 403 does not mention private: $(cat "$T/resp.json")"
if eg_vd_has @pgtest/egress-priv 1.0.0; then
	it_fail "Verdaccio has the private package"
fi

# The served chain (and the only leaf minted: every CONNECT before was
# registry.npmjs.org too): leaf + intermediate, verified with the root only.
sc() {
	echo | timeout 10 openssl s_client -proxy "127.0.0.1:$EG_PORT" \
	    -connect registry.npmjs.org:443 -servername "$1" -showcerts \
	    -CAfile "$T/eg/root.pem" -verify_hostname registry.npmjs.org \
	    >"$T/sc.out" 2>&1 || true
}
sc registry.npmjs.org
it_expect_grep '^ *0 s: ?CN ?= ?registry\.npmjs\.org' "$T/sc.out" "leaf subject"
it_expect_grep '^ *1 s: ?CN ?= ?pubgate egress test intermediate' "$T/sc.out" \
    "intermediate served"
it_expect_grep 'Verify return code: 0 \(ok\)' "$T/sc.out" "chain verifies"
sc registry.npmjs.org
it_expect_grep 'Verify return code: 0 \(ok\)' "$T/sc.out" "second handshake"
it_expect_grep 'event=leaf host=registry\.npmjs\.org cache=hit' \
    "$T/pubgate.err" "the second connection reused the cached leaf"
it_expect_grep 'method=CONNECT host=registry\.npmjs\.org .*leaf=hit' \
    "$T/pubgate.err" "access line with leaf=hit"
curl -sS "http://127.0.0.1:$ADMIN_PORT/-/pubgate/metrics" >"$T/metrics.txt" ||
    it_fail "admin metrics did not answer"
it_expect_grep '^pubgate_egress_leaf_cache_total\{result="hit"\} [1-9]' \
    "$T/metrics.txt" "leaf cache hits in the metrics"
it_expect_grep '^pubgate_egress_leaf_cache_total\{result="miss"\} 1$' \
    "$T/metrics.txt" "one leaf minted for registry.npmjs.org"
sc evil.example
it_expect_grep 'no peer certificate available' "$T/sc.out" \
    "a certificate was served for a mismatching SNI"
it_expect_grep 'tls=sni-mismatch' "$T/pubgate.err" "SNI mismatch logged"

# An absolute-form http:// request to the intercepted host: handled the
# same way, the upstream leg over verified TLS.
code=$(env -u NO_PROXY -u no_proxy curl -sS -o "$T/ping.json" \
    -w '%{http_code}' --proxy "$EG_URL" \
    "http://registry.npmjs.org/-/ping") || it_fail "absolute-form GET failed"
it_expect_eq "$code" 200 "absolute-form GET through the gateway"
it_expect_grep 'method=GET path=/-/ping .*status=200' "$T/pubgate.err" \
    "absolute-form GET went through the read path"

# Refusals.
connect_status() {
	env -u NO_PROXY -u no_proxy curl -s -o /dev/null \
	    -w '%{http_connect}' --proxy "$EG_URL" -p --max-time 10 \
	    "https://$1/" || true
}
S_PORT=$(it_free_port)
it_expect_eq "$(connect_status "localhost:$S_PORT")" 403 \
    "CONNECT to a host in no list"
it_expect_eq "$(connect_status "127.0.0.1:443")" 403 "CONNECT to an IP"
it_expect_eq "$(connect_status "registry.npmjs.org:8443")" 403 \
    "CONNECT to a port outside allow_ports"
it_expect_grep "method=CONNECT host=localhost port=$S_PORT verdict=refuse status=403" \
    "$T/pubgate.err" "refusal access line"

# Tunnelled when configured: a local TLS server behind the CONNECT.
openssl s_server -accept "$S_PORT" -cert "$T/server.pem" \
    -key "$T/server.key" -www -quiet >"$T/s_server.log" 2>&1 &
IT_PIDS+=("$!")
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
cat >"$T/egress.yaml" <<EOF2
egress:
  allow_ports: [443, $S_PORT]
  tunnel: [localhost]
EOF2
it_start_pubgate --upstream-ca "$T/ca.pem" -v -c "$T/egress.yaml" \
    --egress-listen "$EG_URL" \
    --ca-cert "$T/eg/int.pem" --ca-key "$T/eg/int.key" \
    --intercept "registry.npmjs.org=127.0.0.1:$VD_PORT"
code=$(env -u NO_PROXY -u no_proxy curl -s -o "$T/tun.html" \
    -w '%{http_connect} %{http_code}' --proxy "$EG_URL" \
    --cacert "$T/ca.pem" --max-time 10 "https://localhost:$S_PORT/" || true)
it_expect_eq "$code" "200 200" "CONNECT status and the tunnelled answer"
it_expect_grep 's_server' "$T/tun.html" "s_server's page came through"
it_expect_grep "method=CONNECT host=localhost port=$S_PORT verdict=tunnel status=200 bytes_in=[1-9][0-9]* bytes_out=[1-9]" \
    "$T/pubgate.err" "tunnel access line with bytes"
exit 0
