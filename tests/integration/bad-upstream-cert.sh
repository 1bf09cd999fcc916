#!/bin/bash
# tests/integration/bad-upstream-cert.sh: pubgate verifies the upstream's
# TLS certificate (chain and host name) and refuses, with a 502, an
# upstream the CA does not vouch for.  Three real Verdaccios over HTTPS:
#   good   signed by the test CA for 127.0.0.1       -> reads pass (control)
#   self   self-signed for 127.0.0.1                 -> 502
#   wrong  signed by the test CA for wrong.example   -> 502 (host name)
# and the good one without --upstream-ca (the system store does not know
# the test CA) -> 502.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_cert good "IP:127.0.0.1" ca
it_cert self "IP:127.0.0.1" self
it_cert wrong "DNS:wrong.example" ca

it_start_verdaccio good
good_url=$VD_URL
it_adduser alice
it_pkg "$T/p" @pgtest/tls 1.0.0
(cd "$T/p" && npm --registry "$good_url/" --cafile "$T/ca.pem" \
    "--//127.0.0.1:$VD_PORT/:_authToken=$TOKEN" publish --access restricted \
    >"$T/npm.out" 2>"$T/npm.err") || it_fail "setup: direct publish failed"
it_start_verdaccio self
self_url=$VD_URL
it_start_verdaccio wrong
wrong_url=$VD_URL

# get UPSTREAM [SERVE ARGS...]: starts pubgate in front of UPSTREAM, reads
# the packument through it, stops it; the status is left in $code.
get() {
	local up=$1
	shift
	UPSTREAM=$up it_start_pubgate "$@"
	code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' \
	    "$PG_URL/@pgtest%2ftls") || true
	it_stop_pubgate || it_fail "pubgate did not stop cleanly"
}

get "$good_url" --upstream-ca "$T/ca.pem"
it_expect_eq "$code" 200 "control: upstream with a certificate from the CA"
it_expect_eq "$(it_json 'd.name' "$T/resp.json")" @pgtest/tls \
    "control: the packument through pubgate"

get "$self_url" --upstream-ca "$T/ca.pem"
it_expect_eq "$code" 502 "upstream with a self-signed certificate"
it_json 'd.error' "$T/resp.json" >/dev/null ||
    it_fail "the 502 for a self-signed upstream has no JSON \"error\""

get "$wrong_url" --upstream-ca "$T/ca.pem"
it_expect_eq "$code" 502 "upstream whose certificate names another host"

get "$good_url"
it_expect_eq "$code" 502 "upstream from a CA outside the trust store"
exit 0
