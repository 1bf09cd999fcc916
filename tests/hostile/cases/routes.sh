# tests/hostile/cases/routes.sh: class 3 of issue 8, writes classified by
# their path.  A publish body sent to a path the gate took for something
# else (an unpublish's -rev, the registry's own /-/ prefix, a name npm
# would never accept) must be judged as a publish or refused; every write
# the gate does not know is refused, recorded, and never forwarded.

# hc_route METHOD PATH STATUS RULE [FILE]: one write to PATH (with FILE,
# default the leaky publish body), refused with STATUS and RULE.
hc_route() {
	local method=$1 path=$2 st=$3 rule=$4 file=${5:-$HC_D/body.json}
	hc_send "$method" "$path" "$file" application/json
	hc_expect_refused "$st" "$rule"
}

# PUT /<name>/-rev/<rev> with a whole publish: the engine judges it (the
# leaking map is blocked).  Verdaccio's handler for that path (an
# existing package's edit) adds the new version and its tarball.
hc_case_route_rev_publish() {
	local name=@pgtest/h-revpub tgz
	hc_pkg "$HC_D/clean" "$name" 1.0.0
	tgz=$(hc_pack "$HC_D/clean")
	hc_body "$tgz" "$name" 1.0.0 >"$HC_D/clean.json"
	hc_send PUT "/$(hc_enc "$name")" "$HC_D/clean.json"
	[ "$HC_STATUS" = 201 ] || hc_fail "the clean 1.0.0 was not published"
	hc_leaky_body "$name" 1.0.1
	hc_route PUT "/$(hc_enc "$name")/-rev/1-0123456789abcdef" 403 \
	    'sourcemap\..*|files\.deny'
	hc_vd_nothing "$name" 1.0.1
	hc_oracle_put PUT "/$(hc_enc "$name")/-rev/1-0123456789abcdef" \
	    "$HC_D/body.json" application/json
	hc_vd_has "$name" 1.0.1 ||
	    hc_fail "oracle: Verdaccio did not store $name@1.0.1 from a -rev PUT"
}

# PUT /-, PUT /-/ and PUT /-/-rev/x: "-" is no package name.
hc_case_route_put_dash() {
	hc_leaky_body @pgtest/h-dash 1.0.0
	hc_route PUT /- 400 'write\.(route|name)'
	hc_route PUT /-/ 400 'write\.(route|name)'
	hc_route PUT /-/-rev/x 400 'write\.(route|name)'
	hc_route PUT /%2d 400 'write\.(route|name)'
	hc_vd_nothing @pgtest/h-dash
	[ ! -e "$T/verdaccio/storage/-" ] || hc_fail "Verdaccio stored a package named -"
}

# POST, PATCH and DELETE to /-/ paths the gate does not know.
hc_case_route_unknown() {
	hc_leaky_body @pgtest/h-unknown 1.0.0
	hc_route POST /-/pubgate-hostile/unknown 400 'write\.route'
	hc_route PATCH /@pgtest%2fh-unknown 405 'write\.route'
	hc_route PATCH /-/package/@pgtest%2fh-unknown/dist-tags/latest 405 \
	    'write\.route'
	hc_send DELETE /-/pubgate-hostile/unknown
	hc_expect_refused 400 'write\.route'
	hc_route PUT /-/v1/search 400 'write\.route'
	hc_vd_nothing @pgtest/h-unknown
}

# hc_badname NAME ENC: a publish of a clean package named NAME (scoped in
# @pgtest, which the policy allows) to /ENC is refused for the name alone
# (the tarball is made with tar: npm pack would refuse the name).
hc_badname() {
	local name=$1 enc=$2
	hc_pkg "$HC_D/t/package" "$name" 1.0.0
	tar -czf "$HC_D/bad.tgz" -C "$HC_D/t" package ||
	    hc_fail "tar failed"
	hc_body "$HC_D/bad.tgz" "$name" 1.0.0 >"$HC_D/body.json"
	hc_route PUT "/$enc" 400 'write\.name'
	[ "$(find "$T/verdaccio/storage" -path '*@pgtest/[._]*' -o -path '*@pgtest/h:*' -o -path '*@pgtest/xxxxxxxx*' | wc -l)" = 0 ] ||
	    hc_fail "Verdaccio stored something for $name"
}

hc_case_name_leading_dot() {
	hc_badname @pgtest/.hidden @pgtest%2f.hidden
}

hc_case_name_leading_underscore() {
	hc_badname @pgtest/_under @pgtest%2f_under
}

hc_case_name_too_long() {
	local long
	long=$(printf 'x%.0s' $(seq 1 210))
	hc_badname "@pgtest/$long" "@pgtest%2f$long"
}

hc_case_name_not_url_safe() {
	hc_badname '@pgtest/h:x' '@pgtest%2fh%3ax'
}

# A publish body (new version, _attachments) sent to the write routes the
# gate forwards without the engine (dist-tags, login): any write that
# carries attachments is refused, whatever its path.
hc_case_route_write_attachments() {
	local name=@pgtest/h-wattach
	hc_leaky_body "$name" 1.0.0
	hc_route PUT "/-/package/$(hc_enc "$name")/dist-tags/latest" \
	    '400|403' 'write\.attachments'
	hc_route PUT "/-/user/org.couchdb.user:h-wattach" '400|403' \
	    'write\.attachments'
	hc_route POST /-/npm/v1/tokens '400|403' 'write\.attachments'
	hc_vd_nothing "$name"
}

# An unpublish DELETE with a body: refused (the registry might read it).
hc_case_route_delete_body() {
	local name=@pgtest/h-delbody
	hc_leaky_body "$name" 1.0.0
	hc_send DELETE "/$(hc_enc "$name")/-rev/1-0123456789abcdef" \
	    "$HC_D/body.json" application/json
	hc_expect_refused 400 'write\.body'
	hc_vd_nothing "$name"
}
