# tests/hostile/cases/charset.sh: class 1 of issue 8, the body's charset
# and content coding.  Verdaccio's body parser (body-parser, iconv-lite)
# decodes any utf-* charset and a gzip/deflate coding before JSON.parse;
# a gate that reads the bytes as UTF-8 sees no "_attachments" in a UTF-7
# body ("+AF8-attachments") and would forward a leaking tarball as a
# deprecate.  Each case: 415 (body.charset / body.encoding), nothing
# forwarded, the refusal logged; then the same bytes sent straight to
# Verdaccio are stored (the payload is real).

# hc_charset NAME CT MODE [RULE]: the leaky package's body rewritten by
# MODE, sent with Content-Type CT.
hc_charset() {
	local name=$1 ct=$2 mode=$3 rule=${4:-body.charset}
	hc_leaky_body "$name" 1.0.0
	hc_xform "$mode"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.$mode" "$ct"
	hc_expect_refused 415 "$rule"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.$mode" "$ct"
	hc_vd_has "$name" 1.0.0 ||
	    hc_fail "oracle: Verdaccio did not store $name@1.0.0 from the $mode body"
}

hc_case_charset_utf7() {
	hc_charset @pgtest/h-utf7 'application/json; charset=utf-7' utf7
}

hc_case_charset_utf7_imap() {
	hc_charset @pgtest/h-utf7imap 'application/json; charset=utf-7-imap' \
	    utf7imap
}

hc_case_charset_quoted() {
	hc_charset @pgtest/h-utf7q 'application/json; charset="UTF-7"' utf7
}

hc_case_charset_utf16() {
	hc_charset @pgtest/h-utf16 'application/json; charset=utf-16le' \
	    utf16le
}

hc_case_charset_gzip() {
	local name=@pgtest/h-gzip
	hc_leaky_body "$name" 1.0.0
	hc_xform gzip
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.gzip" application/json \
	    -H 'content-encoding: gzip'
	hc_expect_refused 415 body.encoding
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.gzip" \
	    application/json -H 'content-encoding: gzip'
	hc_vd_has "$name" 1.0.0 ||
	    hc_fail "oracle: Verdaccio did not store $name@1.0.0 from the gzip body"
}

# Through the egress listener: a PUT to https://registry.npmjs.org.
hc_case_charset_egress() {
	local name=@pgtest/h-utf7eg
	hc_leaky_body "$name" 1.0.0
	hc_xform utf7
	HC_EGRESS=1 hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.utf7" \
	    'application/json; charset=utf-7'
	hc_expect_refused 415 body.charset
	hc_vd_nothing "$name"
}
