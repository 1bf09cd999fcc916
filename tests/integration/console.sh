#!/bin/bash
# tests/integration/console.sh: the web console in a real headless browser.
# Two publishes by the real npm client through pubgate (one allowed, one
# blocked for a source map with sourcesContent), then console.js drives
# Debian's chromium through /-/pubgate/ui/ on the admin listener: login
# with the token, filter to blocked, the decision's page, the policy page,
# approving the blocked decision (a waiver) and revoking it, a POST without
# the CSRF token refused, a page without a session sent to the login form,
# logout; screenshots in $CONSOLE_OUT (meson's build dir).  Then the admin
# API's waivers: 401 without the token, an approval by POST, the list.
. "$(dirname "$0")/lib.sh"
it_init
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] ||
    it_fail "$chromium missing: run contrib/install-deps.sh (Debian's chromium)"
[ -f "$IT_HERE/node_modules/puppeteer-core/package.json" ] ||
    it_fail "puppeteer-core missing: run tests/integration/install.sh"
out=${CONSOLE_OUT:-$T/shots}
mkdir -p "$out"
rm -f "$out"/*.png
it_make_ca
it_start_verdaccio
it_adduser alice
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
admin_token=console-token-0123456789abcdef-$$
printf '%s\n' "$admin_token" >"$T/admin.token"
chmod 600 "$T/admin.token"
printf 'admin:\n  listen: %s\n  token_file: %s\n' "$admin" "$T/admin.token" \
    >"$T/pubgate.yaml"
it_start_pubgate -c "$T/pubgate.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"

it_pkg "$T/ok" @pgtest/ok 1.0.0
(cd "$T/ok" && it_npm publish --access restricted) ||
    it_fail "allowed publish failed"
it_pkg "$T/leaky" @pgtest/leaky 1.0.0
printf '{"version":3,"sources":["a.ts"],"sourcesContent":["x"],"mappings":""}\n' \
    >"$T/leaky/dist/index.js.map"
set +e
(cd "$T/leaky" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the leaking publish was allowed"
curl -sS -o "$T/blocked.json" -H "authorization: Bearer $admin_token" \
    "$admin/-/pubgate/decisions?blocked=1" || it_fail "admin API"
id=$(it_json 'd[0].request_id' "$T/blocked.json")
it_expect_grep "decision $id" "$T/npm.err" "npm prints the decision id"

start=$(date +%s)
NODE_PATH="$IT_HERE/node_modules" CHROMIUM="$chromium" \
    timeout 150 node "$IT_HERE/console.js" "$admin" "$admin_token" "$id" \
    @pgtest/leaky @pgtest/ok "$out" >"$T/console.out" 2>&1 || {
	cat "$T/console.out" >&2
	it_fail "the browser run failed"
}
cat "$T/console.out" >&2
it_log "browser run: $(($(date +%s) - start)) s; screenshots in $out"
for s in 1-login 2-decisions 3-blocked 4-decision 5-policy 7-approve \
    8-waivers 9-revoked 6-after-refused-post; do
	[ -s "$out/$s.png" ] || it_fail "no screenshot $s.png"
	[ "$(head -c 8 "$out/$s.png" | od -An -tx1 | tr -d ' \n')" = \
	    89504e470d0a1a0a ] || it_fail "$s.png is not a PNG"
done
it_expect_grep 'event=console-csrf-refused' "$T/pubgate.err" \
    "the refused POST is logged"
it_expect_grep 'event=console-login result=ok' "$T/pubgate.err" \
    "the login is logged"
it_expect_no_secret "$admin_token" "$T/pubgate.err" "the admin token in the log"
# The console's approval and revocation are records naming the reviewer.
curl -sS -o "$T/dec.json" -H "authorization: Bearer $admin_token" \
    "$admin/-/pubgate/decisions?package=@pgtest/leaky" || it_fail "admin API"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-approve' && /approved by reviewer1/.test(r.reasons[0].text) && r.user_agent === 'console').length" \
    "$T/dec.json")" 1 "the console's approval record"
it_expect_eq "$(it_json "d.filter(r => r.kind === 'waiver-revoke' && /revoked by reviewer1/.test(r.reasons[0].text)).length" \
    "$T/dec.json")" 1 "the console's revocation record"

# The admin API: POST approves (token required), GET lists.
code=$(curl -sS -o "$T/w.json" -w '%{http_code}' --data-urlencode "decision=$id" \
    --data-urlencode "reason=api" "$admin/-/pubgate/waivers")
it_expect_eq "$code" 401 "approve without the admin token"
code=$(curl -sS -o "$T/w.json" -w '%{http_code}' \
    -H "authorization: Bearer $admin_token" --data-urlencode "decision=$id" \
    --data-urlencode "reason=bad" --data-urlencode "expires=99d" \
    "$admin/-/pubgate/waivers")
it_expect_eq "$code" 400 "approve with expires=99d"
code=$(curl -sS -o "$T/w.json" -w '%{http_code}' \
    -H "authorization: Bearer $admin_token" --data-urlencode "decision=$id" \
    --data-urlencode "reason=reviewed by the API" --data-urlencode "by=carol" \
    --data-urlencode "expires=1h" "$admin/-/pubgate/waivers")
it_expect_eq "$code" 201 "approve by the API: $(cat "$T/w.json")"
it_expect_eq "$(it_json 'd.approved_by + " " + d.state + " " + d.once' "$T/w.json")" \
    "carol active false" "the API's waiver"
code=$(curl -sS -o "$T/w.json" -w '%{http_code}' \
    -H "authorization: Bearer $admin_token" "$admin/-/pubgate/waivers?active=1")
it_expect_eq "$code" 200 "GET waivers"
it_expect_eq "$(it_json 'd.length' "$T/w.json")" 1 "one active waiver"
code=$(curl -sS -o "$T/w.json" -w '%{http_code}' \
    -H "authorization: Bearer $admin_token" --data-urlencode "id=999" \
    --data-urlencode "reason=x" "$admin/-/pubgate/waivers/revoke")
it_expect_eq "$code" 404 "revoke of an unknown waiver"
exit 0
