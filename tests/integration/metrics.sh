#!/bin/bash
# tests/integration/metrics.sh: /-/pubgate/metrics of a live gate passes
# `promtool check metrics` (help and type for every family, units and
# _total suffixes as Prometheus names them), after real traffic through
# both listeners: an allowed and a denied npm publish through the egress
# proxy (so the egress, denial-by-rule and histogram lines carry values)
# and a read through the reverse proxy.  It holds pubgate_build_info with
# the binary's version, pubgate_policy_info with the SHA-256 of the policy
# file, the process_* family with plausible values, and the reload
# figures: a broken policy on SIGHUP sets last_reload_successful 0 and
# keeps the old hash, a good one sets 1 and the new hash.  Then the
# Grafana dashboard (contrib/grafana/pubgate.json): every query is valid
# PromQL (promtool check rules) and every metric it names is in the scrape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/egress-lib.sh"
it_init
it_need promtool node
cp "$IT_HERE/policy.yaml" "$T/policy.yaml"
IT_POLICY="$T/policy.yaml"
ADMIN="http://127.0.0.1:$(it_free_port)"
eg_start --admin "$ADMIN"

it_pkg "$T/ok" @pgtest/metrics-ok 1.0.0
(cd "$T/ok" && eg_npm publish --access restricted) ||
    it_fail "allowed publish through the egress proxy failed"
it_pkg "$T/leaky" @pgtest/metrics-leaky 1.0.0
printf '{"version":3,"sources":["a.ts"],"sourcesContent":["x"],"mappings":""}\n' \
    >"$T/leaky/dist/index.js.map"
if (cd "$T/leaky" && eg_npm publish --access restricted); then
	it_fail "the leaking publish was allowed"
fi
it_pgcurl -sS -o /dev/null "$PG_URL/@pgtest%2fmetrics-ok" ||
    it_fail "read through the gate failed"

# scrape: the metrics into $T/metrics.txt.
scrape() {
	curl -sS -o "$T/metrics.txt" "$ADMIN/-/pubgate/metrics" ||
	    it_fail "cannot scrape $ADMIN/-/pubgate/metrics"
}
# value SERIES: the sample value of one exact series.
value() {
	awk -v s="$1" '$1 == s { print $2 }' "$T/metrics.txt"
}
# hup: SIGHUP, then wait for the reload's outcome in the log.
hup() {
	local n i
	n=$(grep -c 'event=reload$' "$T/pubgate.err" || true)
	kill -HUP "$IT_PG_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c 'event=reload$' "$T/pubgate.err" || true)" -gt "$n" ] &&
		    grep -q 'event=reloaded what=egress-ca\|event=reload-failed what=egress-ca' \
		    <(tail -n 5 "$T/pubgate.err") && break
		sleep 0.1
	done
	sleep 0.3
}

scrape
if promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1; then
	[ -s "$T/promtool.out" ] && {
		cat "$T/promtool.out" >&2
		it_fail "promtool check metrics has complaints"
	}
else
	cat "$T/promtool.out" >&2
	it_fail "promtool check metrics failed"
fi
it_log "promtool check metrics: clean ($(grep -c '^# TYPE' "$T/metrics.txt") families)"

version=$("$PUBGATE" --version | awk '{ print $2 }')
it_expect_eq "$(value "pubgate_build_info{version=\"$version\"}")" 1 \
    "pubgate_build_info carries the version"
sha=$(sha256sum "$T/policy.yaml" | cut -d' ' -f1)
it_expect_eq "$(value "pubgate_policy_info{sha256=\"$sha\",source=\"file\"}")" 1 \
    "pubgate_policy_info carries the policy file's SHA-256"
it_expect_eq "$(value 'pubgate_publishes_total{verdict="allow"}')" 1 "allowed publishes"
it_expect_eq "$(value 'pubgate_publishes_total{verdict="deny"}')" 1 "denied publishes"
grep -q '^pubgate_denials_by_rule_total{rule="[^"]*"} 1$' "$T/metrics.txt" ||
    it_fail "no denial by rule counted"
it_expect_eq "$(value 'pubgate_inspection_seconds_count')" 2 "inspections"
[ "$(value 'pubgate_egress_requests_total{verdict="intercept"}')" -ge 2 ] ||
    it_fail "egress intercepts not counted"
[ "$(value 'pubgate_received_bytes_total')" -gt 1000 ] ||
    it_fail "received bytes not counted"
it_expect_eq "$(value pubgate_config_last_reload_successful)" 1 \
    "a start is a good load"
node -e '
	const [rss, fds, max, start, cpu] = process.argv.slice(1).map(Number);
	const now = Date.now() / 1000;
	const bad = [];
	if (!(rss > 1e6 && rss < 1e10)) bad.push("rss " + rss);
	if (!(fds >= 5 && fds < max)) bad.push("open fds " + fds + " of " + max);
	if (!(start > now - 600 && start <= now + 1)) bad.push("start " + start);
	if (!(cpu > 0 && cpu < 600)) bad.push("cpu " + cpu);
	if (bad.length) { console.error(bad.join(", ")); process.exit(1); }
' "$(value process_resident_memory_bytes)" "$(value process_open_fds)" \
    "$(value process_max_fds)" "$(value process_start_time_seconds)" \
    "$(value process_cpu_seconds_total)" || it_fail "process_* values implausible"

# Reloads: a broken policy is kept out and says so; a good one counts.
printf 'version: 1\nrules:\n  - match: x\n    nosuchkey: 1\n' >"$T/policy.yaml"
hup
scrape
it_expect_eq "$(value pubgate_config_last_reload_successful)" 0 \
    "last reload failed (broken policy)"
it_expect_eq "$(value 'pubgate_config_reloads_total{result="fail"}')" 1 "failed reloads"
it_expect_eq "$(value "pubgate_policy_info{sha256=\"$sha\",source=\"file\"}")" 1 \
    "the old policy's hash stays"
t0=$(value pubgate_config_last_reload_success_timestamp_seconds)
cp "$IT_HERE/policy.yaml" "$T/policy.yaml"
printf '# reloaded\n' >>"$T/policy.yaml"
sha2=$(sha256sum "$T/policy.yaml" | cut -d' ' -f1)
sleep 1
hup
scrape
it_expect_eq "$(value pubgate_config_last_reload_successful)" 1 "good reload"
it_expect_eq "$(value 'pubgate_config_reloads_total{result="ok"}')" 1 "good reloads"
it_expect_eq "$(value "pubgate_policy_info{sha256=\"$sha2\",source=\"file\"}")" 1 \
    "the new policy's hash"
node -e 'process.exit(Number(process.argv[2]) > Number(process.argv[1]) ? 0 : 1)' \
    "$t0" "$(value pubgate_config_last_reload_success_timestamp_seconds)" ||
    it_fail "last_reload_success_timestamp_seconds did not move"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 &&
    [ ! -s "$T/promtool.out" ] || it_fail "promtool after reloads: $(cat "$T/promtool.out")"

# The dashboard: valid JSON, every query valid PromQL, every metric live.
dash="$IT_HERE/../../contrib/grafana/pubgate.json"
node -e '
	const fs = require("fs");
	const d = JSON.parse(fs.readFileSync(process.argv[1]));
	const exprs = [];
	for (const p of d.panels)
		for (const t of p.targets || []) exprs.push(t.expr);
	for (const v of d.templating.list)
		if (v.query && v.query.query) exprs.push(v.query.query);
	if (exprs.length < 20) { console.error("too few queries"); process.exit(1); }
	// Grafana variables as Prometheus would see them after expansion.
	const rules = exprs.filter(e => !e.startsWith("label_values(")).map(
	    (e, i) => "      - record: pubgate:dashboard_" + i + "\n" +
	    "        expr: " + JSON.stringify(e.replace(/\$__rate_interval/g, "5m")
	    .replace(/\$__range/g, "1h").replace(/\$instance/g, ".*")));
	fs.writeFileSync(process.argv[2], "groups:\n  - name: dashboard\n" +
	    "    rules:\n" + rules.join("\n") + "\n");
	const names = new Set();
	for (const e of exprs)
		for (const m of e.matchAll(/\b(pubgate_[a-z0-9_]+|process_[a-z0-9_]+)/g))
			names.add(m[1]);
	fs.writeFileSync(process.argv[3], [...names].sort().join("\n") + "\n");
' "$dash" "$T/dash-rules.yml" "$T/dash-names" || it_fail "dashboard JSON"
promtool check rules "$T/dash-rules.yml" >"$T/promtool.out" 2>&1 ||
    it_fail "dashboard PromQL: $(cat "$T/promtool.out")"
missing=
while read -r n; do
	grep -q "^$n[{ ]" "$T/metrics.txt" || missing="$missing $n"
done <"$T/dash-names"
[ -z "$missing" ] || it_fail "the dashboard queries metrics the gate lacks:$missing"
it_log "dashboard: $(wc -l <"$T/dash-names") metrics queried, all in the scrape"
it_stop_pubgate
exit 0
