# tests/hostile/cases/dupkeys.sh: class 6 of issue 8, duplicate keys.
# JSON.parse (Verdaccio's body parser, npm) keeps the last of two equal
# keys; a gate that judges the first lets the registry store a manifest
# or tarball nobody judged.  dupbody.js writes each body (clean first,
# unsafe last) and checks that JSON.parse reads the unsafe value.  Each
# case: 403 with json.duplicate-key (or the rule the last value breaks),
# nothing forwarded; the same body straight to Verdaccio is stored with
# the unsafe value.

# hc_dup VARIANT RULES CHECK [ARG]: CHECK is a JS expression on the
# packument Verdaccio stored from the oracle request.
hc_dup() {
	local variant=$1 rules=$2 check=$3 arg=${4:-}
	local name="@pgtest/h-dup-$variant" tgz
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/pkg")
	hc_body "$tgz" "$name" 1.0.0 >"$HC_D/body.json"
	node "$HC_HERE/dupbody.js" "$variant" "$HC_D/body.json" \
	    "$HC_D/body.dup" $arg || hc_fail "dupbody.js $variant failed"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.dup"
	hc_expect_refused '400|403' "json\\.duplicate-key|$rules"
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.dup" \
	    application/json
	hc_vd_has "$name" 1.0.0 || hc_fail "oracle: no $name@1.0.0"
	it_json "($check) ? 'yes' : undefined" "$HC_D/vd-packument.json" \
	    >/dev/null || hc_fail "oracle: Verdaccio did not keep the last value ($check)"
}

hc_case_dup_version_key() {
	hc_dup version-key private 'd.versions["1.0.0"].private === true'
}

hc_case_dup_versions_object() {
	hc_dup versions-object publish-config \
	    'd.versions["1.0.0"].publishConfig.proxy !== undefined'
}

hc_case_dup_name() {
	hc_dup name 'consistency\.name' \
	    'd.versions["1.0.0"].name === "pgtest-other-name"'
}

hc_case_dup_integrity() {
	hc_dup integrity 'integrity\..*' \
	    'd.versions["1.0.0"].dist.integrity.startsWith("sha512-Bwc")'
}

hc_case_dup_scripts() {
	hc_dup scripts 'scripts.*' \
	    'd.versions["1.0.0"].scripts.postinstall !== undefined'
}

hc_case_dup_attachments() {
	local tgz
	hc_leaky_pkg "$HC_D/leaky" @pgtest/h-dup-attachments 1.0.0
	tgz=$(hc_pack "$HC_D/leaky")
	mv "$tgz" "$HC_D/leaky.tgz"
	hc_dup attachments 'attachment\..*|sourcemap\..*|files\.deny|integrity\..*' \
	    'd.versions["1.0.0"]' "$HC_D/leaky.tgz"
	hc_vd_curl -o "$HC_D/fetched.tgz" \
	    "$VD_URL/@pgtest/h-dup-attachments/-/h-dup-attachments-1.0.0.tgz" ||
	    hc_fail "oracle: cannot fetch the tarball"
	it_expect_eq "$(it_sha512 "$HC_D/fetched.tgz")" \
	    "$(it_sha512 "$HC_D/leaky.tgz")" "oracle: Verdaccio stored the last (leaky) tarball"
}

# The tarball's own package.json: "private" twice, false then true; the
# body's manifest has neither (npm reads the tarball's with JSON.parse).
hc_case_dup_tarball_package_json() {
	local name=@pgtest/h-dup-pkgjson
	hc_pkg "$HC_D/t/package" "$name" 1.0.0
	node -e '
		const fs = require("fs"), f = process.argv[1];
		const p = JSON.parse(fs.readFileSync(f));
		const t = JSON.stringify({ ...p, private: false,
		    "@@DUP@@private": true }, null, 2)
		    .replace("\"@@DUP@@private\"", "\"private\"");
		if (JSON.parse(t).private !== true) process.exit(1);
		fs.writeFileSync(f, t);
	' "$HC_D/t/package/package.json" || hc_fail "cannot write package.json"
	tar -czf "$HC_D/dup.tgz" -C "$HC_D/t" package || hc_fail "tar failed"
	hc_body "$HC_D/dup.tgz" "$name" 1.0.0 >"$HC_D/body.json"
	node -e '
		const fs = require("fs"), f = process.argv[1];
		const d = JSON.parse(fs.readFileSync(f));
		delete d.versions["1.0.0"].private;
		fs.writeFileSync(f, JSON.stringify(d));
	' "$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	hc_expect_refused '400|403' 'json\.duplicate-key|private|tarball\.package-json'
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
}
