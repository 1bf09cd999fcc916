# tests/hostile/cases/controls.sh: the controls.  A clean package
# published through the gate by the real npm, pnpm and yarn clients lands
# in Verdaccio byte-identical to what the same client packs (sha512 of
# the stored tarball), and the decision log has the allow.  If these
# fail, the refusals in the other cases prove nothing.

HC_BIN="$HC_HERE/../integration/node_modules/.bin"

# hc_control_check NAME VERSION TGZ: Verdaccio stored TGZ's exact bytes
# for NAME@VERSION, and the gate recorded the allow with its digest.
hc_control_check() {
	local name=$1 ver=$2 tgz=$3 want stored base
	want=$(it_sha512 "$tgz")
	base=${name#*/}
	stored="$T/verdaccio/storage/$name/$base-$ver.tgz"
	[ -f "$stored" ] || hc_fail "Verdaccio has no ${stored#"$T"/}"
	it_expect_eq "$(it_sha512 "$stored")" "$want" \
	    "sha512 of the tarball Verdaccio stored"
	hc_vd_curl -o "$HC_D/fetched.tgz" \
	    "$VD_URL/$name/-/$base-$ver.tgz" || hc_fail "cannot fetch the tarball"
	it_expect_eq "$(it_sha512 "$HC_D/fetched.tgz")" "$want" \
	    "sha512 of the tarball Verdaccio serves"
	it_pglog --json --package "$name" >"$HC_D/log.json" ||
	    hc_fail "pubgate log failed"
	it_expect_eq "$(it_json 'd.length' "$HC_D/log.json")" 1 "records for $name"
	it_expect_eq "$(it_json 'd[0].verdict' "$HC_D/log.json")" allow verdict
	it_expect_eq "$(it_json 'd[0].status' "$HC_D/log.json")" 201 status
	it_expect_eq "$(it_json 'd[0].sha512' "$HC_D/log.json")" "$want" \
	    "sha512 in the decision log"
}

hc_case_control_npm() {
	local name=@pgtest/h-ctl-npm tgz
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/pkg")
	(cd "$HC_D/pkg" && it_npm publish --access restricted) ||
	    hc_fail "npm publish through pubgate failed: $(tail -5 "$T/npm.err")"
	hc_control_check "$name" 1.0.0 "$tgz"
	# And npm installs it back through the gate.
	mkdir -p "$HC_D/app"
	printf '{"name":"app","version":"1.0.0","private":true}\n' \
	    >"$HC_D/app/package.json"
	(cd "$HC_D/app" && it_npm install "$name") ||
	    hc_fail "npm install through pubgate failed: $(tail -5 "$T/npm.err")"
	[ -f "$HC_D/app/node_modules/$name/dist/index.js" ] ||
	    hc_fail "npm install did not extract the package"
}

# A package that ships archives with nothing to refuse in them (a tarball
# npm packed, a zip with a data descriptor, a gzip) is opened, judged and
# published unchanged: archives: judge (the default) refuses only what
# it finds, or what it cannot read.
hc_case_control_nested() {
	local name=@pgtest/h-ctl-nested tgz dep
	hc_pkg "$HC_D/dep" @pgtest/h-ctl-dep 2.0.0
	dep=$(hc_pack "$HC_D/dep")
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	mkdir -p "$HC_D/pkg/dist/fixtures"
	cp "$dep" "$HC_D/pkg/dist/fixtures/dep-2.0.0.tgz"
	node "$HC_HERE/mknested.js" clean "$HC_D/pkg" ||
	    hc_fail "mknested.js clean failed"
	tgz=$(hc_pack "$HC_D/pkg")
	# (a file, not a pipe: grep -q exiting first would fail tar with
	# SIGPIPE under pipefail)
	tar -tzf "$tgz" >"$HC_D/list" || hc_fail "tar cannot list $tgz"
	grep -qx package/dist/fixtures/dep-2.0.0.tgz "$HC_D/list" ||
	    hc_fail "npm pack left out the fixture tarball"
	(cd "$HC_D/pkg" && it_npm publish --access restricted) ||
	    hc_fail "npm publish through pubgate failed: $(tail -5 "$T/npm.err")"
	hc_control_check "$name" 1.0.0 "$tgz"
}

hc_case_control_pnpm() {
	local name=@pgtest/h-ctl-pnpm f
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	f=$(cd "$HC_D/pkg" && npm_config_userconfig="$T/npmrc" \
	    "$HC_BIN/pnpm" pack --pack-destination "$HC_D" 2>"$HC_D/pnpm.err" |
	    tail -n 1) || hc_fail "pnpm pack failed: $(tail -5 "$HC_D/pnpm.err")"
	[ -f "$f" ] || f="$HC_D/$(basename "$f")"
	[ -f "$f" ] || hc_fail "pnpm pack wrote no tarball ($f)"
	mv "$f" "$HC_D/packed.tgz"
	(cd "$HC_D/pkg" && npm_config_userconfig="$T/npmrc" \
	    "$HC_BIN/pnpm" publish --no-git-checks --access restricted \
	    >"$HC_D/pnpm.out" 2>"$HC_D/pnpm.err") ||
	    hc_fail "pnpm publish through pubgate failed: $(tail -5 "$HC_D/pnpm.out" "$HC_D/pnpm.err")"
	hc_control_check "$name" 1.0.0 "$HC_D/packed.tgz"
}

hc_case_control_yarn() {
	local name=@pgtest/h-ctl-yarn
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	: >"$HC_D/pkg/yarn.lock"
	(
		cd "$HC_D/pkg"
		export YARN_NPM_REGISTRY_SERVER="$PG_URL"
		export YARN_NPM_AUTH_TOKEN="$TOKEN"
		export YARN_HTTPS_CA_FILE_PATH="$T/ca.pem"
		export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0
		export YARN_ENABLE_IMMUTABLE_INSTALLS=0
		"$HC_BIN/yarn" install >"$HC_D/yarn.out" 2>&1 &&
		"$HC_BIN/yarn" pack -o "$HC_D/packed.tgz" >>"$HC_D/yarn.out" 2>&1 &&
		"$HC_BIN/yarn" npm publish --access restricted \
		    >>"$HC_D/yarn.out" 2>&1
	) || hc_fail "yarn through pubgate failed: $(tail -8 "$HC_D/yarn.out")"
	hc_control_check "$name" 1.0.0 "$HC_D/packed.tgz"
}

# The other side of the controls: the same three clients publishing a
# package that leaks its source through a map (named index.js.json, so
# no file-name rule catches it: the map judge must) are refused with 403;
# the client fails, Verdaccio has nothing, the block is logged.
# hc_client_block CLIENT: npm, pnpm or yarn.
hc_client_block() {
	local client=$1 name="@pgtest/h-client-$1" rc=0
	node "$HC_HERE/mkmap.js" long-key "$HC_D/pkg" "$name" 1.0.0 ||
	    hc_fail "mkmap.js failed"
	case $client in
	npm)
		(cd "$HC_D/pkg" && it_npm publish --access restricted) || rc=$?
		cat "$T/npm.out" "$T/npm.err" >"$HC_D/client.out" ;;
	pnpm)
		(cd "$HC_D/pkg" && npm_config_userconfig="$T/npmrc" \
		    "$HC_BIN/pnpm" publish --no-git-checks --access restricted \
		    >"$HC_D/client.out" 2>&1) || rc=$? ;;
	yarn)
		: >"$HC_D/pkg/yarn.lock"
		(
			cd "$HC_D/pkg"
			export YARN_NPM_REGISTRY_SERVER="$PG_URL"
			export YARN_NPM_AUTH_TOKEN="$TOKEN"
			export YARN_HTTPS_CA_FILE_PATH="$T/ca.pem"
			export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0
			export YARN_ENABLE_IMMUTABLE_INSTALLS=0
			"$HC_BIN/yarn" install >"$HC_D/client.out" 2>&1 &&
			"$HC_BIN/yarn" npm publish --access restricted \
			    >>"$HC_D/client.out" 2>&1
		) || rc=$? ;;
	esac
	[ "$rc" -ne 0 ] || hc_fail "$client publish of a leaking map succeeded"
	it_expect_grep '403' "$HC_D/client.out" "$client prints the 403"
	hc_vd_nothing "$name"
	it_pglog --json --package "$name" >"$HC_D/log.json" ||
	    hc_fail "pubgate log failed"
	it_json 'd.some(r => r.verdict === "block" && r.status === 403 &&
	    r.reasons.some(x => /^sourcemap\./.test(x.rule))) ? "y" : undefined' \
	    "$HC_D/log.json" >/dev/null ||
	    hc_fail "no block with a sourcemap rule for $name: $(cat "$HC_D/log.json")"
}

hc_case_client_npm_block() {
	hc_client_block npm
}

hc_case_client_pnpm_block() {
	hc_client_block pnpm
}

hc_case_client_yarn_block() {
	hc_client_block yarn
}
