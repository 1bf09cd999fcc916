#!/bin/bash
# tests/integration/npm-writes.sh: the writes npm makes besides publish go
# through the gate's write-route table (proxy/core/route.c) and land in
# Verdaccio: npm deprecate (a packument PUT, judged by the engine as an
# edit), npm dist-tag add and rm, npm unpublish of one version (a -rev
# PUT of the packument, then the tarball DELETE), npm logout (an account
# write); each allowed package write is in the decision log.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

for v in 1.0.0 1.0.1; do
	it_pkg "$T/w$v" @pgtest/w "$v"
	(cd "$T/w$v" && it_npm publish --access restricted) ||
	    it_fail "npm publish $v through pubgate failed"
done

it_npm deprecate @pgtest/w@1.0.0 "use 1.0.1" ||
    it_fail "npm deprecate through pubgate failed: $(tail -3 "$T/npm.err")"
curl -sS -o "$T/p1.json" "$VD_URL/@pgtest%2fw" || it_fail "no packument"
it_expect_eq "$(it_json 'd.versions["1.0.0"].deprecated' "$T/p1.json")" \
    "use 1.0.1" "the deprecation Verdaccio stored"

it_npm dist-tag add @pgtest/w@1.0.0 old ||
    it_fail "npm dist-tag add failed: $(tail -3 "$T/npm.err")"
it_npm dist-tag rm @pgtest/w old ||
    it_fail "npm dist-tag rm failed: $(tail -3 "$T/npm.err")"
curl -sS -o "$T/tags.json" "$VD_URL/-/package/@pgtest%2fw/dist-tags" ||
    it_fail "cannot read dist-tags"
it_expect_eq "$(it_json 'd.old === undefined ? "gone" : d.old' \
    "$T/tags.json")" gone "the dist-tag removed through the gate"

it_npm unpublish @pgtest/w@1.0.1 --force ||
    it_fail "npm unpublish of one version failed: $(tail -3 "$T/npm.err")"
curl -sS -o "$T/p2.json" "$VD_URL/@pgtest%2fw" || it_fail "no packument"
it_expect_eq "$(it_json 'd.versions["1.0.1"] === undefined ? "gone" : "kept"' \
    "$T/p2.json")" gone "1.0.1 after npm unpublish"
it_expect_eq "$(it_json 'd.versions["1.0.0"] ? "kept" : "gone"' \
    "$T/p2.json")" kept "1.0.0 after npm unpublish of 1.0.1"

it_pglog --json --package '@pgtest/w' >"$T/log.json" ||
    it_fail "pubgate log failed"
for k in deprecate dist-tag unpublish; do
	it_json "d.some(r => r.kind === '$k' && r.verdict === 'allow') ? 'y' : undefined" \
	    "$T/log.json" >/dev/null || it_fail "no allowed $k in the decision log"
done
it_json "d.some(r => r.verdict !== 'allow') ? undefined : 'y'" "$T/log.json" \
    >/dev/null || it_fail "a legitimate npm write was refused: $(cat "$T/log.json")"

it_npm logout || it_fail "npm logout through pubgate failed: $(tail -3 "$T/npm.err")"
exit 0
