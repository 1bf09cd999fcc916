# tests/hostile/cases/attach.sh: class 2 of issue 8, attachment names.
# Verdaccio stores every attachment of a publish under its own name and
# npm fetches whatever dist.tarball names; a tarball attached under a
# name the gate takes for something else (a Sigstore bundle) or next to
# the judged one is never judged.  Each case: 403 with an attachment
# rule, nothing forwarded; the sigstore body sent straight to Verdaccio is
# stored, and its dist.tarball serves the leaky tarball.

# The leaky tarball attached as <name>-<v>.sigstore, dist.tarball
# pointing at it, no .tgz attachment at all.
hc_case_attach_sigstore() {
	local name=@pgtest/h-sigstore
	hc_leaky_body "$name" 1.0.0
	hc_xform sigstore
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.sigstore"
	hc_expect_refused 403 'attachment\..*|provenance.*|sigstore.*'
	hc_vd_nothing "$name"
	hc_oracle_put PUT "/$(hc_enc "$name")" "$HC_D/body.sigstore" \
	    application/json
	hc_vd_has "$name" 1.0.0 || hc_fail "oracle: no $name@1.0.0"
	# What npm would fetch is the leaky tarball, under .sigstore.
	hc_vd_curl -o "$HC_D/fetched" "$(it_json \
	    'd.versions["1.0.0"].dist.tarball' "$HC_D/vd-packument.json")" ||
	    hc_fail "oracle: cannot fetch dist.tarball"
	tar -tzf "$HC_D/fetched" | grep -qx 'package/dist/index.js.map' ||
	    hc_fail "oracle: dist.tarball is not the leaky tarball"
}

# A clean tarball (the one the manifest describes) and the leaky one as a
# second attachment, <name>-<v>-b.tgz.
hc_case_attach_two_tarballs() {
	local name=@pgtest/h-twotgz tgz
	hc_leaky_pkg "$HC_D/leaky" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/leaky")
	mv "$tgz" "$HC_D/leaky.tgz"
	hc_pkg "$HC_D/pkg" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/pkg")
	hc_body "$tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_xform two "$HC_D/leaky.tgz"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/body.two"
	hc_expect_refused '400|403' 'attachment\..*'
	hc_vd_nothing "$name"
	# No oracle step: Verdaccio 6 itself refuses a publish with two
	# attachments (400); the npm registry's handling is not known here.
}
