# tests/hostile/cases/nested.sh: nested content (issue 8).  A secret in a
# file inside an archive inside the package (dist/vendor.tgz, .tar, .gz,
# .zip; mknested.js writes them), or in the outer gzip header's comment
# and name fields.  The gate must open the inner archive and judge it, or
# block it as archive.nested: 403, nothing forwarded, the block logged;
# the same body straight to Verdaccio is stored.

HC_NESTED_RULES='archive\..*|secret\..*|tarball\.gzip'

# hc_nested EXT
hc_nested() {
	local ext=$1 name="@pgtest/h-nested-$1" tgz
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	node "$HC_HERE/mknested.js" "$ext" "$HC_D/pkg" ||
	    hc_fail "mknested.js $ext failed"
	tgz=$(hc_pack "$HC_D/pkg")
	tar -tzf "$tgz" | grep -qx "package/dist/vendor.$ext" ||
	    hc_fail "npm pack left out dist/vendor.$ext"
	hc_body "$tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	hc_expect_refused 403 "$HC_NESTED_RULES"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
}

hc_case_nested_tgz() {
	hc_nested tgz
}

hc_case_nested_tar() {
	hc_nested tar
}

hc_case_nested_gz() {
	hc_nested gz
}

hc_case_nested_zip() {
	hc_nested zip
}

hc_case_nested_gzip_comment() {
	local name=@pgtest/h-nested-gzcomment tgz
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/pkg")
	node "$HC_HERE/mknested.js" gzip-comment "$tgz" "$HC_D/commented.tgz" ||
	    hc_fail "mknested.js gzip-comment failed"
	hc_body "$HC_D/commented.tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	hc_expect_refused 403 "$HC_NESTED_RULES"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
}
