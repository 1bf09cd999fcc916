# tests/hostile/cases/tar.sh: class 4 of issue 8, tar interpretation.
# Each tarball is written byte by byte by mktar.js so that node-tar (what
# npm extracts with) reads package/src/index.ts, a file the policy
# denies, where a walker with other header rules sees only allowed files;
# mktar.js checks node-tar's reading itself.  The gate must judge under
# node-tar's reading or refuse the tarball as ambiguous: 403, nothing
# forwarded, the block logged; the same body sent straight to Verdaccio is
# stored (the registry does not look inside) and `npm install` from there
# writes the smuggled file.

HC_TAR_RULES='tar\..*|tarball\..*|files\.(deny|allow)|paths\..*'

# hc_tar VARIANT [HIDDEN [RULES]]
hc_tar() {
	local v=$1 hidden=${2:-src} name="@pgtest/h-tar-$1-${2:-src}"
	[ -z "${3:-}" ] || HC_TAR_RULES="$HC_TAR_RULES|$3"
	node "$HC_HERE/mktar.js" "$v" "$HC_D/$v.tgz" "$name" 1.0.0 \
	    "$hidden" || hc_fail "mktar.js $v $hidden failed"
	hc_body "$HC_D/$v.tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	# tar.ambiguous is a syntax refusal (400); a judged hidden file 403.
	hc_expect_refused '400|403' "$HC_TAR_RULES"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
	# And npm, installing it from Verdaccio, writes the smuggled file.
	hc_npm_install_direct "$name"
	node -e '
		const fs = require("fs"), path = require("path");
		const [dir, v, hidden] = process.argv.slice(1);
		const want = { src: "src/index.ts", npmrc: ".npmrc",
		    map: "dist/index.js.map", "package-json": "package.json" };
		const f = path.join(dir, want[hidden]);
		if (!fs.existsSync(f)) process.exit(1);
		if (hidden === "package-json" &&
		    JSON.parse(fs.readFileSync(f)).private !== true)
			process.exit(1);
	' "$HC_D/app/node_modules/$name" "$v" "$hidden" ||
	    hc_fail "oracle: npm install from Verdaccio did not write the smuggled $hidden file"
	it_log "oracle: npm install writes the smuggled $hidden file"
}

hc_case_tar_dir_size() {
	hc_tar dir-size
}

# The other files the issue names as hidden this way.
hc_case_tar_dir_size_npmrc() {
	hc_tar dir-size npmrc 'secret\..*'
}

hc_case_tar_dir_size_map() {
	hc_tar dir-size map 'sourcemap\..*'
}

hc_case_tar_dir_size_package_json() {
	hc_tar dir-size package-json 'private|consistency\..*|tarball\.package-json'
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
