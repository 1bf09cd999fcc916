#!/bin/bash
# tests/integration/whoami.sh: the npm user name in decision records
# (issue 10, "who"), with the real npm client and Verdaccio.  A publish
# blocked for a denied file records the user Verdaccio's /-/whoami gives
# for the token (pubgate show, pubgate log, --json, the JSON log line);
# a second publish with the same token within whoami.ttl asks Verdaccio
# no more (its access log counts GET /-/whoami); an invalid token gives
# an empty user, one event=whoami-failed line, and the same 403; a
# dist-tag write records the user too; the token is nowhere in the
# store, the logs or the JSON lines.  With whoami: off nothing is asked.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
IT_POLICY="$T/policy.yaml"
cp "$IT_HERE/policy.yaml" "$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pgwho/*"
    publish: allow
    access: restricted
    files:
      deny: ["**/*.pem"]
YAML
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
admin_token=admin-token-whoami-$$-0123456789
printf '%s\n' "$admin_token" >"$T/admin.token"
chmod 600 "$T/admin.token"
cat >"$T/pubgate.yaml" <<EOF
audit_log: $T/decisions.jsonl
admin:
  listen: $admin
  token_file: $T/admin.token
whoami: {ttl: 10m, timeout: 3s, max: 16}
EOF
it_start_pubgate -c "$T/pubgate.yaml"

# publish DIR: npm publish through the gate; rc in $rc.
publish() {
	set +e
	(cd "$1" && it_npm publish --access restricted)
	rc=$?
	set -e
}
decision_of() {
	grep -Eo 'decision [0-9a-f]{8}-[0-9]+' "$T/npm.err" | head -1 |
	    cut -d' ' -f2
}
show_json() {
	"$PUBGATE" show --db "$T/pubgate.db" --json "$1"
}
# whoamis: GET /-/whoami requests Verdaccio received (its one "requested"
# line each; the "http <--" lines may come twice).
whoamis() {
	grep -c "requested 'GET /-/whoami'" "$T/verdaccio.log" || true
}
# expect_whoamis N WHAT: Verdaccio's log is written behind its answers:
# waits up to 5 s for N, then a little more for any extra one.
expect_whoamis() {
	local i
	for i in $(seq 1 50); do
		[ "$(whoamis)" -ge "$1" ] && break
		sleep 0.1
	done
	sleep 0.5
	it_expect_eq "$(whoamis)" "$1" "$2"
}

# 1. Blocked: the record names alice, whom Verdaccio knows the token as.
it_pkg "$T/a" @pgwho/a 1.0.0
printf 'a test fixture\n' >"$T/a/dist/fixture.pem"
publish "$T/a"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused"
it_expect_grep 'files\.deny' "$T/npm.err" "the 403 names the rule"
id=$(decision_of)
[ -n "$id" ] || it_fail "npm's output names no decision id"
it_expect_eq "$(show_json "$id" | it_json 'd.user')" alice \
    "pubgate show --json: user"
"$PUBGATE" show --db "$T/pubgate.db" "$id" >"$T/show.txt"
it_expect_grep '^ *user +alice$' "$T/show.txt" "pubgate show: user"
it_pglog --blocked >"$T/log.txt"
it_expect_grep " block 403 publish @pgwho/a@1\.0\.0 user=alice who=[0-9a-f]+ reasons:" \
    "$T/log.txt" "pubgate log: user"
it_pglog --json >"$T/log.json"
it_expect_eq "$(it_json 'd[0].user' "$T/log.json")" alice "log --json: user"
it_expect_grep "\"request_id\":\"$id\".*\"user\":\"alice\"" \
    "$T/decisions.jsonl" "the JSON log line: user"
expect_whoamis 1 "GET /-/whoami reached Verdaccio once"
curl -sS -H "Authorization: Bearer $admin_token" -o "$T/api.json" \
    "$admin/-/pubgate/decisions?id=$id" || it_fail "admin API"
it_expect_eq "$(it_json 'd[0].user' "$T/api.json")" alice "the admin API: user"
# The console: the decision page, the list and its User filter.
jar="$T/cookies"
curl -sS -c "$jar" -o "$T/login.html" "$admin/-/pubgate/ui/login"
csrf=$(grep -Eo 'name="csrf" value="[0-9a-f]+"' "$T/login.html" |
    head -1 | grep -Eo '[0-9a-f]{32}') || it_fail "no CSRF token on the login form"
curl -sS -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "token=$admin_token" --data-urlencode "csrf=$csrf" \
    --data-urlencode "name=reviewer" "$admin/-/pubgate/ui/login"
curl -sS -b "$jar" -o "$T/page.html" "$admin/-/pubgate/ui/decision?id=$id"
it_expect_grep '<dt>npm user \(whoami\)</dt><dd>alice</dd>' "$T/page.html" \
    "the console's decision page"
curl -sS -b "$jar" -o "$T/list.html" "$admin/-/pubgate/ui/?user=alice"
it_expect_grep "<td>alice <code>[0-9a-f]{16}</code></td>" "$T/list.html" \
    "the console's list filtered to alice"
curl -sS -b "$jar" -o "$T/list.html" "$admin/-/pubgate/ui/?user=mallory"
it_expect_no_grep "@pgwho/a" "$T/list.html" "the console's list for mallory"
it_expect_grep 'event=whoami who=[0-9a-f]{16} user=alice' "$T/pubgate.err" \
    "the lookup is logged"

# 2. The same token again within the ttl: allowed, alice, not asked again.
it_pkg "$T/b" @pgwho/b 1.0.0
publish "$T/b"
[ "$rc" -eq 0 ] || it_fail "clean publish refused: $(cat "$T/npm.err")"
it_vd_has @pgwho/b 1.0.0 || it_fail "@pgwho/b did not reach Verdaccio"
it_pglog --json --limit 1 >"$T/log.json"
it_expect_eq "$(it_json 'd[0].package + " " + d[0].verdict + " " + d[0].user' \
    "$T/log.json")" "@pgwho/b allow alice" "the allowed record's user"
expect_whoamis 1 "a cached name asks Verdaccio no more"

# 3. A dist-tag write (a gated write) records alice, still from the cache.
it_npm dist-tag add @pgwho/b@1.0.0 beta ||
    it_fail "npm dist-tag add: $(cat "$T/npm.err")"
it_pglog --json --limit 1 >"$T/log.json"
it_expect_eq "$(it_json 'd[0].kind + " " + d[0].user' "$T/log.json")" \
    "dist-tag alice" "the dist-tag record's user"
expect_whoamis 1 "the dist-tag write used the cache"

# 4. A token Verdaccio does not know: empty user, the same verdict.
GOOD=$TOKEN
TOKEN=bogus-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
BOGUS=$TOKEN
it_write_npmrc
it_pkg "$T/c" @pgwho/c 1.0.0
printf 'a test fixture\n' >"$T/c/dist/fixture.pem"
publish "$T/c"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused (bad token)"
it_expect_grep 'files\.deny' "$T/npm.err" "the 403 is the policy's"
id=$(decision_of)
[ -n "$id" ] || it_fail "no decision id (bad token)"
it_expect_eq "$(show_json "$id" | it_json 'd.verdict + " " + d.status + " [" + d.user + "]"')" \
    "block 403 []" "a refused token: empty user, verdict unchanged"
# Verdaccio answers {} (200) for a token it does not know.
it_expect_grep 'event=whoami-failed who=[0-9a-f]{16} reason="no username in the answer"' \
    "$T/pubgate.err" "the failed lookup is logged"
expect_whoamis 2 "the other token was asked once"

# The counters: two lookups (one failed), the rest from the cache.
curl -sS -H "Authorization: Bearer $admin_token" -o "$T/metrics.txt" \
    "$admin/-/pubgate/metrics" || it_fail "metrics"
it_expect_grep '^pubgate_whoami_lookups_total 2$' "$T/metrics.txt" "lookups"
it_expect_grep '^pubgate_whoami_hits_total 2$' "$T/metrics.txt" "hits"
it_expect_grep '^pubgate_whoami_failures_total 1$' "$T/metrics.txt" "failures"
it_expect_grep '^pubgate_whoami_evictions_total 0$' "$T/metrics.txt" "evictions"

# 5. The tokens are nowhere: store, logs, JSON lines.
for f in pubgate.db pubgate.db-wal decisions.jsonl pubgate.err pubgate.out; do
	it_expect_no_secret "$GOOD" "$T/$f" "alice's token"
	it_expect_no_secret "$BOGUS" "$T/$f" "the bogus token"
done

it_pglog --user alice >"$T/log.txt"
it_expect_eq "$(grep -c 'user=alice' "$T/log.txt")" 3 "pubgate log --user alice"
it_expect_no_grep '@pgwho/c' "$T/log.txt" "the bogus token's record is not alice's"

# 6. whoami: off: nothing asked, user empty.
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
TOKEN=$GOOD
cat >"$T/pubgate.yaml" <<EOF
audit_log: $T/decisions.jsonl
whoami: off
EOF
it_start_pubgate -c "$T/pubgate.yaml"
it_pkg "$T/d" @pgwho/d 1.0.0
printf 'a test fixture\n' >"$T/d/dist/fixture.pem"
publish "$T/d"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused (off)"
id=$(decision_of)
it_expect_eq "$(show_json "$id" | it_json '"[" + d.user + "]"')" "[]" \
    "whoami: off: empty user"
expect_whoamis 2 "whoami: off asks nothing"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
it_log "ok"
