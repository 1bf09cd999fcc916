# tests/hostile/cases/sourcemap.sh: class 5 of issue 8, source-map judges
# that give up.  mkmap.js writes a package whose dist/index.js names a
# map embedding the TypeScript source, in a form a strict JSON scanner or
# a case-sensitive "data:" match does not finish reading; Node reads it
# (the case runs `node --enable-source-maps` on the packed files and
# checks the stack names src/index.ts).  Each case: 403 with a
# sourcemap.* rule, nothing forwarded; the body straight to Verdaccio is
# stored.

# hc_sm VARIANT
hc_sm() {
	local v=$1 name="@pgtest/h-sm-$1" tgz
	node "$HC_HERE/mkmap.js" "$v" "$HC_D/pkg" "$name" 1.0.0 ||
	    hc_fail "mkmap.js $v failed"
	tgz=$(hc_pack "$HC_D/pkg")
	# Node's reading: the packed files, run with source maps on.
	mkdir -p "$HC_D/x"
	tar -xzf "$tgz" -C "$HC_D/x" || hc_fail "cannot unpack $tgz"
	! node --enable-source-maps "$HC_D/x/package/dist/index.js" \
	    >"$HC_D/node.out" 2>&1 || hc_fail "dist/index.js did not throw"
	grep -q 'src/index\.ts' "$HC_D/node.out" ||
	    hc_fail "node --enable-source-maps does not use the map; the case would prove nothing"
	hc_body "$tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.json"
	hc_expect_refused 403 'sourcemap\..*'
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.json" \
	    application/json
}

hc_case_sm_lone_surrogate() {
	hc_sm lone-surrogate
}

hc_case_sm_invalid_utf8() {
	hc_sm invalid-utf8
}

hc_case_sm_deep_nesting() {
	hc_sm deep-nesting
}

hc_case_sm_long_key() {
	hc_sm long-key
}

hc_case_sm_long_number() {
	hc_sm long-number
}

hc_case_sm_inline_upper() {
	hc_sm inline-upper
}

hc_case_sm_inline_mixed() {
	hc_sm inline-mixed
}

hc_case_sm_inline_urlsafe() {
	hc_sm inline-urlsafe
}
