#!/bin/bash
# tests/integration/log-json.sh: `log_format: json` makes every line pubgate
# serve writes one JSON object, for SIEMs: after an allowed publish and one
# blocked for a GitHub token by the real npm client, and two admin API
# requests, every stderr line parses as JSON with ts and level; the access
# lines carry verdict allow / block (the store's words, never deny) with
# numbers as numbers; the decision lines (audit_log) are there too, with
# the same id; neither the npm token, the admin token nor the leaked
# secret appears.  Without the setting the same run logs key=value text.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
admin_token=admin-token-json-0123456789-$$
printf '%s\n' "$admin_token" >"$T/admin.token"
chmod 600 "$T/admin.token"
printf 'log_format: json\nadmin:\n  listen: %s\n  token_file: %s\n' \
    "$admin" "$T/admin.token" >"$T/pubgate.yaml"
it_start_pubgate -c "$T/pubgate.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"

it_pkg "$T/ok" @pgtest/ok 1.0.0
(cd "$T/ok" && it_npm publish --access restricted) ||
    it_fail "allowed publish failed"
it_pkg "$T/leaky" @pgtest/leaky 1.0.0
# A GitHub token with a valid checksum, made here (never a real one).
secret=$(node -e '
let c, crc = 0xffffffff;
const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let e = "";
for (let i = 0; i < 30; i++) e += b62[(i * 13 + 7) % 62];
for (const b of Buffer.from(e)) {
	c = (crc ^ b) & 0xff;
	for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
	crc = (crc >>> 8) ^ c;
}
let v = (crc ^ 0xffffffff) >>> 0, s = "";
for (let i = 0; i < 6; i++) { s = b62[v % 62] + s; v = Math.floor(v / 62); }
process.stdout.write("gh" + "p_" + e + s);
')
printf 'module.exports = { token: "%s" };\n' "$secret" >"$T/leaky/dist/auth.js"
set +e
(cd "$T/leaky" && it_npm publish --access restricted)
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "the leaking publish was allowed"
it_expect_grep 'secret\.github-token' "$T/npm.err" "npm prints the secret rule"
curl -sS -o /dev/null -H "authorization: Bearer $admin_token" \
    "$admin/-/pubgate/decisions?blocked=1" || it_fail "admin API"
curl -sS -o /dev/null -H "authorization: Bearer $admin_token" \
    "$admin/-/pubgate/decisions?limit=zero" || it_fail "admin API"
it_stop_pubgate

node -e '
const fs = require("fs");
const lines = fs.readFileSync(process.argv[1], "utf8").split("\n");
const fail = (m) => { console.error("log-json: " + m); process.exit(1); };
let access = [], decisions = [], n = 0;
for (const l of lines) {
	if (l === "") continue;
	let o;
	try { o = JSON.parse(l); } catch (e) { fail("not JSON: " + l); }
	if (typeof o !== "object" || o === null || Array.isArray(o))
		fail("not an object: " + l);
	n++;
	if (o.verdict === "deny") fail("deny in " + l);
	if (o.method !== undefined && o.kind !== undefined) {
		if (typeof o.ts !== "string" || o.level !== "info")
			fail("access line without ts/level: " + l);
		if (typeof o.status !== "number" || typeof o.conn !== "number" ||
		    typeof o.bytes_in !== "number")
			fail("access line numbers are not numbers: " + l);
		access.push(o);
	} else if (o.request_id !== undefined && o.reasons !== undefined)
		decisions.push(o);
	else if (typeof o.ts !== "string" || typeof o.level !== "string")
		fail("line without ts/level: " + l);
}
const pub = access.filter((o) => o.method === "PUT");
const v = pub.map((o) => o.pkg + ":" + o.verdict + ":" + o.status).sort();
if (JSON.stringify(v) !== JSON.stringify(["@pgtest/leaky:block:403",
    "@pgtest/ok:allow:201"]))
	fail("publish access lines: " + JSON.stringify(v));
if (!pub.every((o) => typeof o.req === "string" && o.req.length > 0))
	fail("access lines without a decision id");
const blocked = pub.find((o) => o.verdict === "block");
if (blocked.rule !== "secret.github-token")
	fail("blocked rule: " + blocked.rule);
const adm = access.filter((o) => o.kind === "admin").map((o) => o.status);
/* health (it_wait_http) and decisions: 200; limit=zero: 400. */
if (adm.filter((x) => x === 400).length !== 1 || !adm.includes(200) ||
    adm.some((x) => x !== 200 && x !== 400))
	fail("admin access lines: " + JSON.stringify(adm));
const dv = decisions.map((o) => o.package + ":" + o.verdict).sort();
if (!dv.includes("@pgtest/leaky:block") || !dv.includes("@pgtest/ok:allow"))
	fail("decision lines: " + JSON.stringify(dv));
const d = decisions.find((o) => o.verdict === "block");
if (d.request_id !== blocked.req)
	fail("the decision line and the access line name other ids");
console.log("log-json: " + n + " JSON lines, " + access.length +
    " access lines, " + decisions.length + " decision lines");
' "$T/pubgate.err" || it_fail "the JSON log"
it_expect_no_secret "$secret" "$T/pubgate.err" "the leaked token in the log"
it_expect_no_secret "$TOKEN" "$T/pubgate.err" "the npm token in the log"
it_expect_no_secret "$admin_token" "$T/pubgate.err" "the admin token in the log"
it_expect_no_secret "$secret" "$T/pubgate.out" "the leaked token in the log"

# The default stays key=value text.
: >"$T/pubgate.err"
it_start_pubgate
it_pkg "$T/ok2" @pgtest/ok 1.0.1
(cd "$T/ok2" && it_npm publish --access restricted) ||
    it_fail "allowed publish failed"
it_stop_pubgate
it_expect_grep '^ts=[0-9T:.-]+Z level=info conn=[0-9]+ req=.* method=PUT .*verdict=allow ' \
    "$T/pubgate.err" "the text access line"
it_expect_no_grep '^\{"ts":' "$T/pubgate.err" "JSON log lines in the text format"
exit 0
