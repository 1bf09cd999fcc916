#!/bin/bash
# tests/integration/malformed-body.sh: publish bodies that cannot be fully
# inspected are refused (400 or 403, with a JSON error) and never reach
# the upstream: truncated JSON, not JSON at all, an attachment that is not
# base64, base64 that is not gzip, a gzip that is not a tar, and a body
# whose digest does not match its attachment.  Fail closed.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

# A good tarball to build bad bodies from.
it_pkg "$T/ok" @pgtest/ok 1.0.0
(cd "$T/ok" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
tgz="$T/pgtest-ok-1.0.0.tgz"

# check WHAT BODYFILE: PUT the body as @pgtest/ok (the name in the
# tarball, so that only the defect named WHAT is wrong with it); it must
# be refused with 400 or 403 and a JSON error, and Verdaccio must have
# seen no PUT for the package.
check() {
	local what=$1 body=$2 code
	code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
	    -H "authorization: Bearer $TOKEN" \
	    -H 'content-type: application/json' \
	    --data-binary "@$body" "$PG_URL/@pgtest%2fok" 2>"$T/curl.err") || true
	case "$code" in
	400|403) ;;
	*) it_fail "$what: status $code, want 400 or 403: $(head -c 300 "$T/resp.json")" ;;
	esac
	it_json 'd.error' "$T/resp.json" >/dev/null ||
	    it_fail "$what: no JSON \"error\" in the $code"
	[ "$(it_vd_requests "PUT /@pgtest%2fok")" -eq 0 ] ||
	    it_fail "$what: the malformed publish reached Verdaccio"
	if it_vd_has @pgtest/ok 1.0.0; then
		it_fail "$what: Verdaccio has it"
	fi
}

# Truncated JSON: a good body cut in the middle of the attachment.
it_body "$tgz" @pgtest/ok 1.0.0 restricted >"$T/full.json"
head -c $(($(stat -c %s "$T/full.json") - 200)) "$T/full.json" >"$T/trunc.json"
check "truncated JSON" "$T/trunc.json"

printf 'this is not JSON\n' >"$T/notjson.json"
check "not JSON" "$T/notjson.json"

# Attachment data that is not base64.
it_body "$tgz" @pgtest/ok 1.0.0 restricted |
    node -e '
	const b = JSON.parse(require("fs").readFileSync(0));
	for (const k in b._attachments) b._attachments[k].data = "%%%not base64!!";
	process.stdout.write(JSON.stringify(b));' >"$T/nob64.json"
check "attachment not base64" "$T/nob64.json"

# Base64 of bytes that are not gzip.
it_body "$tgz" @pgtest/ok 1.0.0 restricted |
    node -e '
	const b = JSON.parse(require("fs").readFileSync(0));
	for (const k in b._attachments)
		b._attachments[k].data = Buffer.from("plain text, no gzip here").toString("base64");
	process.stdout.write(JSON.stringify(b));' >"$T/nogzip.json"
check "attachment not gzip" "$T/nogzip.json"

# A gzip whose content is not a tar.
printf 'not a tar archive at all, just text\n' | gzip -c >"$T/notar.tgz"
it_body "$T/notar.tgz" @pgtest/ok 1.0.0 restricted >"$T/notar.json"
check "gzip not a tar" "$T/notar.json"

# A body whose dist.integrity does not match its attachment.
it_body "$tgz" @pgtest/ok 1.0.0 restricted |
    node -e '
	const b = JSON.parse(require("fs").readFileSync(0));
	for (const v in b.versions) {
		b.versions[v].dist.integrity = "sha512-" + Buffer.alloc(64, 7).toString("base64");
		b.versions[v].dist.shasum = "0".repeat(40);
	}
	process.stdout.write(JSON.stringify(b));' >"$T/badsum.json"
check "integrity mismatch" "$T/badsum.json"

# Every refusal is in the decision log, none as allowed.
it_pglog --json --scope @pgtest >"$T/log.json"
it_expect_eq "$(it_json 'd.filter(r => r.verdict === "allow").length' \
    "$T/log.json")" 0 "malformed publishes recorded as allowed"

# The control: the good body, through the same path, is accepted.
it_body "$tgz" @pgtest/ok 1.0.0 restricted >"$T/ok.json"
code=$(it_pgcurl -o "$T/resp.json" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/ok.json" "$PG_URL/@pgtest%2fok") || true
case "$code" in
2??) ;;
*) it_fail "control: the good body got $code: $(head -c 300 "$T/resp.json")" ;;
esac
it_vd_has @pgtest/ok 1.0.0 || it_fail "control: @pgtest/ok not in Verdaccio"
exit 0
