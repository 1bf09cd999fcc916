#!/bin/bash
# tests/integration/webhook.sh: alerts (issue 10, webhooks).  A receiver
# started here (hookrecv.js) takes the POSTs of two webhooks: "sec"
# (generic JSON, signed with secret_file, events block, monitor and
# waiver) and "chat" (Slack's {"text"}, blocks only).  The real npm
# client publishes a package that leaks a credential: the block delivers
# exactly one POST to each, with npm's decision id and the reasons and
# never the credential; the signature verifies with the secret.  A
# monitor-mode leak and a waiver approved through the admin API go to
# "sec" alone.  With the receiver down a second block is retried,
# pubgate is stopped, started again, the receiver comes back: that alert
# arrives, once.  Two workers: worker 0 delivers what either recorded.
# serve -n refuses bad webhooks at file:line:col; the metrics count the
# deliveries and pass promtool.
. "$(dirname "$0")/lib.sh"
it_init
it_need promtool
it_make_ca
it_start_verdaccio
it_adduser alice
LEAK=sk_live_Zq81mNbVx02LkPwe93JdTy7u
IT_POLICY="$T/policy.yaml"
cp "$IT_HERE/policy.yaml" "$IT_POLICY"
cat >>"$IT_POLICY" <<'YAML'
  - match: "@pghmon/*"
    publish: allow
    access: restricted
    mode: monitor
    secrets: block
YAML
HOOK_PORT=$(it_free_port)
TLS_PORT=$(it_free_port)
ADMIN_PORT=$(it_free_port)
printf 'hook-key-%s\n' "$RANDOM$RANDOM" >"$T/hook.secret"
RECV_PID=
recv_start() {
	node "$IT_HERE/hookrecv.js" "$HOOK_PORT" "$T/hooks.jsonl" \
	    "$T/hook.secret" 2>>"$T/recv.err" &
	RECV_PID=$!
	it_wait_http "http://127.0.0.1:$HOOK_PORT/" ||
	    it_fail "the receiver did not start"
	# it_wait_http's GET is not a POST: nothing written.
}
recv_stop() {
	kill "$RECV_PID" 2>/dev/null || true
	wait "$RECV_PID" 2>/dev/null || true
	RECV_PID=
}
# The https receiver (the test CA's server certificate) stays up.
HOOK_TLS_CERT="$T/server.pem" HOOK_TLS_KEY="$T/server.key" \
    node "$IT_HERE/hookrecv.js" "$TLS_PORT" "$T/hooks.jsonl" \
    2>>"$T/recv.err" &
TLS_PID=$!
IT_ON_EXIT='recv_stop; kill $TLS_PID 2>/dev/null; wait $TLS_PID 2>/dev/null'
it_wait_http "https://127.0.0.1:$TLS_PORT/" --cacert "$T/ca.pem" ||
    it_fail "the https receiver did not start"
: >"$T/hooks.jsonl"

cat >"$T/pubgate.yaml" <<EOF
workers: 2
admin:
  listen: http://127.0.0.1:$ADMIN_PORT
webhooks:
  - name: sec
    url: http://127.0.0.1:$HOOK_PORT/hook
    events: [block, monitor, waiver]
    secret_file: $T/hook.secret
  - name: chat
    url: http://127.0.0.1:$HOOK_PORT/slack
    format: slack
  - name: tls
    url: https://localhost:$TLS_PORT/tls
    ca_file: $T/ca.pem
  - name: untrusted
    url: https://127.0.0.1:$TLS_PORT/untrusted
EOF

# serve -n: bad webhooks, each at its place.
bad() {
	printf '%s\n' "$2" >"$T/bad.yaml"
	set +e
	"$PUBGATE" serve -n -c "$T/bad.yaml" --listen "https://127.0.0.1:1" \
	    --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
	    --upstream "$VD_URL" --policy "$IT_POLICY" --db "$T/n.db" \
	    >"$T/n.out" 2>"$T/n.err"
	local rc=$?
	set -e
	[ "$rc" -ne 0 ] || it_fail "serve -n took $1"
	it_expect_grep "$3" "$T/n.err" "serve -n on $1"
}
bad "plain http to another host" \
    "webhooks: [{name: a, url: 'http://192.0.2.1/x'}]" \
    'bad.yaml:1:[0-9]+: webhook a: url: plain http only to a loopback'
bad "an unknown event" \
    "webhooks: [{name: a, url: 'https://h.example/x', events: [blok]}]" \
    'bad.yaml:1:[0-9]+: webhooks.events: "blok" is not block'
bad "no name" "webhooks: [{url: 'https://h.example/x'}]" \
    'bad.yaml:1:[0-9]+: webhooks: "name" is required'
bad "a missing secret_file" \
    "webhooks: [{name: a, url: 'https://h.example/x', secret_file: $T/nope}]" \
    "bad.yaml:1:[0-9]+: webhook a: secret_file $T/nope: No such file"
bad "an unknown format" \
    "webhooks: [{name: a, url: 'https://h.example/x', format: xml}]" \
    'bad.yaml:1:[0-9]+: webhooks.format: "xml" is not json or slack'
bad "a missing ca_file" \
    "webhooks: [{name: a, url: 'https://h.example/x', ca_file: $T/nope.pem}]" \
    "bad.yaml:1:[0-9]+: webhook a: ca_file $T/nope.pem: No such file"
bad "a name twice" \
    "webhooks: [{name: a, url: 'https://h.example/x'}, {name: a, url: 'https://h.example/y'}]" \
    'webhooks.name: "a" given twice'
"$PUBGATE" serve -n -c "$T/pubgate.yaml" --listen "https://127.0.0.1:1" \
    --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
    --upstream "$VD_URL" --policy "$IT_POLICY" --db "$T/n.db" \
    >"$T/n.out" 2>"$T/n.err" || it_fail "serve -n: $(cat "$T/n.err")"

recv_start
it_start_pubgate -c "$T/pubgate.yaml"

# leak NAME: publishes NAME@1.0.0 with the credential; npm's status in $rc,
# the decision id npm printed in $id.
leak() {
	local pkg="$T/p-${1//[@\/]/_}"
	it_pkg "$pkg" "$1" 1.0.0
	printf 'module.exports = { key: "%s" };\n' "$LEAK" >"$pkg/dist/cfg.js"
	set +e
	(cd "$pkg" && it_npm publish --access restricted)
	rc=$?
	set -e
	id=$(grep -Eo 'decision [0-9a-f]{8}-[0-9]+' "$T/npm.err" | head -1 |
	    cut -d' ' -f2)
	[ -n "$id" ] || it_fail "npm's output names no decision id for $1"
}
# posts PATH: the number of POSTs the receiver took on PATH.
posts() {
	grep -c "\"path\":\"$1\"" "$T/hooks.jsonl" || true
}
# wait_posts PATH N: up to 20 s for N POSTs on PATH.
wait_posts() {
	local i
	for i in $(seq 1 100); do
		[ "$(posts "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	it_fail "$1: $(posts "$1") POSTs after 20 s, want $2"
}
# line N PATH EXPR: EXPR on the Nth POST on PATH (d: the receiver's line).
line() {
	grep "\"path\":\"$2\"" "$T/hooks.jsonl" | sed -n "$1p" | it_json "$3"
}
# body N PATH EXPR: EXPR on the parsed body of the Nth POST on PATH.
body() {
	line "$1" "$2" 'd.body' | it_json "$3"
}

# 1. A block: one POST to each webhook.
leak @pgtest/hook1
[ "$rc" -ne 0 ] || it_fail "the leak was not refused"
id1=$id
wait_posts /hook 1
wait_posts /slack 1
it_expect_eq "$(body 1 /hook d.event)" block "the event"
it_expect_eq "$(body 1 /hook d.decision)" "$id1" "the decision id"
it_expect_eq "$(body 1 /hook d.package)" @pgtest/hook1 "the package"
it_expect_eq "$(body 1 /hook d.version)" 1.0.0 "the version"
it_expect_eq "$(body 1 /hook d.verdict)" block "the verdict"
it_expect_eq "$(body 1 /hook d.status)" 403 "the status"
it_expect_eq "$(body 1 /hook "d.reasons.some(r => r.rule === 'secret.stripe-live-key' && r.file === 'dist/cfg.js') ? 'yes' : 'no'")" \
    yes "the reasons"
[ -n "$(body 1 /hook d.client)" ] || it_fail "no client address"
[ -n "$(body 1 /hook d.who)" ] || it_fail "no token fingerprint"
it_expect_eq "$(body 1 /hook 'd.policy.sha256.length')" 64 "the policy hash"
it_expect_eq "$(line 1 /hook d.event)" block "X-Pubgate-Event"
it_expect_eq "$(line 1 /hook d.delivery)" "$(body 1 /hook d.delivery)" \
    "X-Pubgate-Delivery is the body's delivery"
it_expect_eq "$(line 1 /hook d.type)" application/json "Content-Type"
it_expect_eq "$(line 1 /hook d.sig_ok)" true "the signature verifies"
body 1 /slack d.text >"$T/slack.txt"
it_expect_grep "$id1" "$T/slack.txt" "Slack's text names the decision"
it_expect_grep 'secret\.stripe-live-key' "$T/slack.txt" \
    "Slack's text names the rule"
it_expect_eq "$(line 1 /slack 'd.signature === "" ? "none" : "signed"')" \
    none "chat has no secret: unsigned"
it_expect_no_secret "$LEAK" "$T/hooks.jsonl" "the credential in an alert"
it_expect_no_secret "$(head -1 "$T/hook.secret")" "$T/hooks.jsonl" \
    "the webhook secret in an alert"
# https: verified against ca_file (by name); the system store does not
# know the test CA, so "untrusted" is refused and retried, never sent.
wait_posts /tls 1
it_expect_eq "$(body 1 /tls d.decision)" "$id1" "the https alert"
it_expect_eq "$(line 1 /tls 'd.signature === "" ? "none" : "signed"')" \
    none "tls has no secret: unsigned"
for i in $(seq 1 50); do
	grep -q 'event=webhook-failed webhook=untrusted' "$T/pubgate.err" &&
	    break
	sleep 0.2
done
it_expect_grep 'event=webhook-failed webhook=untrusted delivery=[0-9]+ attempts=1 ' \
    "$T/pubgate.err" "an untrusted certificate is a failure"
it_expect_eq "$(posts /untrusted)" 0 "nothing sent to an untrusted server"
# The check can fail: another key does not verify the same body.
it_expect_eq "$(grep '"path":"/hook"' "$T/hooks.jsonl" | head -1 |
    node -e 'const c = require("crypto"), fs = require("fs");
    const l = JSON.parse(fs.readFileSync(0, "utf8"));
    console.log(l.signature === "sha256=" + c.createHmac("sha256",
        "other-key").update(l.body).digest("hex"))')" false \
    "another key verifies"

# 2. Monitor: the leak goes through; "sec" hears of it, "chat" does not.
leak @pghmon/m
[ "$rc" -eq 0 ] || it_fail "monitor mode refused the publish"
wait_posts /hook 2
it_expect_eq "$(body 2 /hook d.event)" monitor "the monitor event"
it_expect_eq "$(body 2 /hook d.verdict)" allow "the monitor verdict"
it_expect_eq "$(body 2 /hook d.decision)" "$id" "the monitor decision"

# 3. A waiver approved through the admin API: "sec" hears of it.
code=$(curl -sS -o "$T/admin.json" -w '%{http_code}' -X POST \
    -H 'content-type: application/x-www-form-urlencoded' \
    --data "decision=$id1&reason=rotated+already+%28SEC-7%29&by=bob" \
    "http://127.0.0.1:$ADMIN_PORT/-/pubgate/waivers")
it_expect_eq "$code" 201 "the approval ($(cat "$T/admin.json"))"
wait_posts /hook 3
it_expect_eq "$(body 3 /hook d.event)" waiver "the waiver event"
it_expect_eq "$(line 3 /hook d.event)" waiver "X-Pubgate-Event of a waiver"
it_expect_eq "$(body 3 /hook d.kind)" waiver-approve "the waiver's record"
it_expect_eq "$(body 3 /hook d.message)" "rotated already (SEC-7)" \
    "the reviewer's reason"
it_expect_grep "approved by bob" <(body 3 /hook 'd.reasons[0].text') \
    "the approval's text"
sleep 2
it_expect_eq "$(posts /slack)" 1 "chat takes blocks only"

# 4. The receiver is down during a block; pubgate restarts meanwhile.
recv_stop
leak @pgtest/hook2
[ "$rc" -ne 0 ] || it_fail "the second leak was not refused"
id2=$id
for i in $(seq 1 50); do
	grep -q 'event=webhook-failed webhook=sec' "$T/pubgate.err" && break
	sleep 0.2
done
it_expect_grep 'event=webhook-failed webhook=sec delivery=[0-9]+ attempts=1 retry_in_ms=[0-9]+ error="connection failed"' \
    "$T/pubgate.err" "the failed attempt is logged"
sleep 2
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
it_expect_eq "$(posts /hook)" 3 "nothing arrived while the receiver was down"
recv_start
it_start_pubgate -c "$T/pubgate.yaml"
wait_posts /hook 4
wait_posts /slack 2
it_expect_eq "$(body 4 /hook d.decision)" "$id2" "the late alert's decision"
it_expect_eq "$(line 4 /hook d.sig_ok)" true "the late alert's signature"
body 2 /slack d.text >"$T/slack.txt"
it_expect_grep "$id2" "$T/slack.txt" "the late Slack alert"
sleep 3
it_expect_eq "$(posts /hook)" 4 "each alert once on sec"
it_expect_eq "$(posts /slack)" 2 "each alert once on chat"
it_expect_eq "$(posts /tls)" 2 "each alert once on tls"
it_expect_eq "$(posts /untrusted)" 0 "never on untrusted"
it_expect_eq "$(grep -c "$id2" "$T/hooks.jsonl")" 3 \
    "the late alert once per webhook"
it_expect_no_secret "$LEAK" "$T/hooks.jsonl" "the credential in an alert"
it_expect_no_secret "$LEAK" "$T/pubgate.err" "the credential in the log"
it_expect_no_secret "$(head -1 "$T/hook.secret")" "$T/pubgate.err" \
    "the webhook secret in the log"
it_expect_no_grep ":($HOOK_PORT|$TLS_PORT)/" "$T/pubgate.err" \
    "a webhook URL in the log"

# 5. Metrics.
curl -sS "http://127.0.0.1:$ADMIN_PORT/-/pubgate/metrics" >"$T/metrics.txt"
it_expect_grep '^pubgate_webhook_deliveries_total\{result="delivered"\} 2$' \
    "$T/metrics.txt" "delivered since the restart"
it_expect_grep '^pubgate_webhook_pending 2$' "$T/metrics.txt" \
    "the two untrusted alerts pending"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
    it_fail "promtool: $(cat "$T/promtool.out")"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
recv_stop
