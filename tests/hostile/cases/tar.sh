# tests/hostile/cases/tar.sh: class 4 of issue 8, tar interpretation.
# Each tarball is written byte by byte by mktar.js so that node-tar (what
# npm extracts with) reads package/src/index.ts, a file the policy
# denies, where a walker with other header rules sees only allowed files;
# mktar.js checks node-tar's reading itself.  The gate must judge under
# node-tar's reading or refuse the tarball as ambiguous: 403, nothing
# forwarded, the block logged; the same body sent straight to Verdaccio is
# stored (the registry does not look inside).

HC_TAR_RULES='tar\..*|tarball\..*|files\.(deny|allow)|paths\..*'

# hc_tar VARIANT
hc_tar() {
	local v=$1 name="@pgtest/h-tar-$1"
	node "$HC_HERE/mktar.js" "$v" "$HC_D/$v.tgz" "$name" 1.0.0 ||
	    hc_fail "mktar.js $v failed"
	hc_body "$HC_D/$v.tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	hc_expect_refused 403 "$HC_TAR_RULES"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
}

hc_case_tar_dir_size() {
	hc_tar dir-size
}

hc_case_tar_file_slash() {
	hc_tar file-slash
}

hc_case_tar_file_linkname() {
	hc_tar file-linkname
}

hc_case_tar_pax_gnu_long() {
	hc_tar pax-gnu-long
}

hc_case_tar_pax_global_size() {
	hc_tar pax-global-size
}

hc_case_tar_pax_newline() {
	hc_tar pax-newline
}

hc_case_tar_ustar_prefix() {
	hc_tar ustar-prefix
}
