#!/bin/bash
# tests/integration/publish-allow.sh: an allowed `npm publish` through
# pubgate lands in Verdaccio byte-identical (the sha512 of the tarball
# `npm pack` writes equals the one Verdaccio stored and serves back), the
# decision log records the allow with that digest, and the everyday
# commands work through the gate: npm install, npm view, npm search,
# npm dist-tag add.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

pkg="$T/hello"
it_pkg "$pkg" @pgtest/hello 1.0.0
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
packed="$T/pgtest-hello-1.0.0.tgz"
[ -s "$packed" ] || it_fail "npm pack wrote no $packed"
want=$(it_sha512 "$packed")

(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "npm publish through pubgate failed (exit $?)"
it_expect_grep '\+ @pgtest/hello@1\.0\.0' "$T/npm.out" "npm publish output"

# What Verdaccio stored, and what it serves, are the bytes npm packed.
stored="$T/verdaccio/storage/@pgtest/hello/hello-1.0.0.tgz"
[ -f "$stored" ] || it_fail "Verdaccio has no tarball at ${stored#"$T"/}"
it_expect_eq "$(it_sha512 "$stored")" "$want" "sha512 of the stored tarball"
curl -sS -o "$T/fetched.tgz" "$VD_URL/@pgtest/hello/-/hello-1.0.0.tgz" ||
    it_fail "cannot fetch the tarball from Verdaccio"
it_expect_eq "$(it_sha512 "$T/fetched.tgz")" "$want" \
    "sha512 of the tarball Verdaccio serves"
# And through pubgate.
it_pgcurl -o "$T/via-gate.tgz" "$PG_URL/@pgtest/hello/-/hello-1.0.0.tgz" ||
    it_fail "cannot fetch the tarball through pubgate"
it_expect_eq "$(it_sha512 "$T/via-gate.tgz")" "$want" \
    "sha512 of the tarball fetched through pubgate"

# The decision log has the allow, with the digest and no token.
it_log_until "$T/log.json" 'd[0].status' 201 \
    it_pglog --json --package '@pgtest/hello' || it_fail "pubgate log failed"
it_expect_eq "$(it_json 'd.length' "$T/log.json")" 1 "allow records"
it_expect_eq "$(it_json 'd[0].verdict' "$T/log.json")" allow "verdict"
it_expect_eq "$(it_json 'd[0].version' "$T/log.json")" 1.0.0 "version"
it_expect_eq "$(it_json 'd[0].sha512' "$T/log.json")" "$want" \
    "sha512 in the decision log"
it_expect_eq "$(it_json 'd[0].kind' "$T/log.json")" publish "kind"
# Recorded before forwarding, then given the registry's answer (201).
it_expect_eq "$(it_json 'd[0].status' "$T/log.json")" 201 \
    "status of the allow record (the registry's answer)"
it_expect_grep '"who":"[^"(]' "$T/log.json" "a token fingerprint in who"
# npm's user agent as it was sent, spaces included.
it_expect_grep '"user_agent":"npm/[^"?]* node/v[^"?]* ' "$T/log.json" \
    "npm's user agent in the decision log"
it_expect_grep '"npm_command":"publish"' "$T/log.json" "npm-command"
it_expect_no_secret "$TOKEN" "$T/log.json" "the token in the decision log"
it_expect_no_secret "$TOKEN" "$T/pubgate.db" "the token in the store"
it_expect_no_secret "$TOKEN" "$T/pubgate.db-wal" "the token in the store"
it_expect_no_secret "$TOKEN" "$T/pubgate.out" "the token in pubgate's output"
it_expect_no_secret "$TOKEN" "$T/pubgate.err" "the token in pubgate's log"

# Without --db, pubgate log reads ./pubgate.db, as serve writes it.
(cd "$T" && "$PUBGATE" log) >"$T/log.txt" || it_fail "pubgate log (default --db) failed"
it_expect_grep ' allow .* publish @pgtest/hello@1\.0\.0 user=alice who=[0-9a-f]+$' \
    "$T/log.txt" "pubgate log text line"

# Publishing the same version again (with curl: npm 11 refuses on its own
# before sending): the policy allows it, the registry refuses with 409,
# and pubgate relays that answer unchanged.
it_body "$packed" @pgtest/hello 1.0.0 restricted >"$T/again.json"
code=$(it_pgcurl -o "$T/again.out" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary "@$T/again.json" "$PG_URL/@pgtest%2fhello") || true
it_expect_eq "$code" 409 "status of a re-publish (the registry's conflict)"
it_expect_grep 'already present|conflict|exists' "$T/again.out" \
    "the registry's own error text relayed"
it_expect_eq "$(it_sha512 "$stored")" "$want" "the stored tarball after a re-publish"
it_log_until "$T/log2.json" 'd[0].status' 409 \
    it_pglog --json --package '@pgtest/hello' || it_fail "pubgate log failed"
it_expect_eq "$(it_json 'd.length' "$T/log2.json")" 2 "records after a re-publish"
it_expect_eq "$(it_json 'd[0].status' "$T/log2.json")" 409 \
    "status of the re-publish record (the registry's conflict)"

# npm view through pubgate.
it_npm view @pgtest/hello version || it_fail "npm view failed"
it_expect_eq "$(cat "$T/npm.out")" 1.0.0 "npm view version"

# npm install through pubgate, in a fresh project.
mkdir -p "$T/app"
printf '{"name":"app","version":"1.0.0","private":true}\n' >"$T/app/package.json"
(cd "$T/app" && it_npm install @pgtest/hello) ||
    it_fail "npm install through pubgate failed"
got=$(cd "$T/app" && node -e 'console.log(require("@pgtest/hello")())') ||
    it_fail "the installed package does not load"
it_expect_eq "$got" "hello from @pgtest/hello@1.0.0" "installed package"
it_expect_grep '"resolved": "https://127\.0\.0\.1:'"$PG_PORT"'/' \
    "$T/app/package-lock.json" "lockfile resolved through pubgate"

# npm search through pubgate.
it_npm search pgtest || it_fail "npm search failed"
it_expect_grep '@pgtest/hello' "$T/npm.out" "npm search result"

# npm dist-tag add through pubgate (a write that is not a publish).
it_npm dist-tag add @pgtest/hello@1.0.0 beta ||
    it_fail "npm dist-tag add through pubgate failed"
curl -sS -o "$T/tags.json" "$VD_URL/-/package/@pgtest%2fhello/dist-tags" ||
    it_fail "cannot read dist-tags from Verdaccio"
it_expect_eq "$(it_json 'd.beta' "$T/tags.json")" 1.0.0 \
    "dist-tag beta in Verdaccio"
it_npm dist-tag ls @pgtest/hello || it_fail "npm dist-tag ls failed"
it_expect_grep '^beta: 1\.0\.0' "$T/npm.out" "npm dist-tag ls"
exit 0
