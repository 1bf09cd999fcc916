# tests/hostile/cases/flood.sh: class 7 of issue 8, connection
# exhaustion, bounded in count and time, on loopback.  Run with
# `run.sh --serve-config flood.yaml` (header deadline 10 s, 64
# connections per client address, publish bodies at least 1 KB/s).
# flood.js is the attacker.

# flood-slowloris: 4,100 sockets from 127.0.0.2 (one byte or nothing,
# reopened 2 s after they are closed, for 25 s) and, from 127.0.0.3, a
# TLS client sending a request head one byte a second.  Meanwhile a normal npm
# install and npm publish from 127.0.0.1 are served; the gate itself
# never holds more than the 64 flood connections (its pubgate_connections
# gauge, sampled every 0.5 s, stays under 64 + the few of npm, the slow
# head and the admin poll), and the slow head is cut at the deadline (408).
# The flood's own view (max_held, max_life_ms) is logged, not asserted:
# once the listen queue is full, Linux drops the last ACK of further
# handshakes (tcp_abort_on_overflow=0), so the client counts as open
# sockets the gate never accepted and never held.
hc_case_flood_slowloris() {
	local name=@pgtest/h-flood-a name2=@pgtest/h-flood-b fpid spid t0 t1
	local fl="$HC_D/flood.json" sl="$HC_D/slow.json" i gmax
	[ "$(ulimit -n)" -ge 9000 ] ||
	    hc_fail "ulimit -n is $(ulimit -n); the flood needs 9000 (run as root)"
	hc_pkg "$HC_D/a" "$name" 1.0.0
	(cd "$HC_D/a" && it_npm publish --access restricted) ||
	    hc_fail "npm publish before the flood failed"

	node "$HC_HERE/flood.js" flood "$PG_PORT" 127.0.0.2 4100 25 "$fl" &
	fpid=$!
	node "$HC_HERE/flood.js" slow "$PG_PORT" 127.0.0.3 "$T/ca.pem" "$sl" &
	spid=$!
	for i in $(seq 1 100); do
		[ -e "$fl.ready" ] && break
		sleep 0.2
	done
	[ -e "$fl.ready" ] || hc_fail "flood.js did not open its sockets in 20 s"
	# The gate's own count of open client connections, while it lasts.
	(
		while kill -0 "$fpid" 2>/dev/null; do
			curl -sS -m 5 "$HC_ADMIN_URL/-/pubgate/metrics" 2>/dev/null |
			    sed -n 's/^pubgate_connections \([0-9]*\)$/\1/p'
			sleep 0.5
		done >"$HC_D/gauge.txt"
	) &
	sleep 2

	# Served from 127.0.0.1 while the flood goes on.
	t0=$(date +%s)
	mkdir -p "$HC_D/app"
	printf '{"name":"app","version":"1.0.0","private":true}\n' \
	    >"$HC_D/app/package.json"
	(cd "$HC_D/app" && it_npm install "$name" --prefer-online) ||
	    hc_fail "npm install during the flood failed: $(tail -5 "$T/npm.err")"
	[ -f "$HC_D/app/node_modules/$name/dist/index.js" ] ||
	    hc_fail "npm install during the flood extracted nothing"
	hc_pkg "$HC_D/b" "$name2" 1.0.0
	(cd "$HC_D/b" && it_npm publish --access restricted) ||
	    hc_fail "npm publish during the flood failed: $(tail -5 "$T/npm.err")"
	hc_vd_has "$name2" 1.0.0 || hc_fail "the publish during the flood is not in Verdaccio"
	t1=$(date +%s)
	it_log "npm install + publish during the flood: $((t1 - t0)) s"
	kill -0 "$fpid" 2>/dev/null ||
	    hc_fail "the flood was over before npm was done ($((t1 - t0)) s): nothing was proved"

	wait "$fpid" || hc_fail "flood.js failed"
	wait "$spid" || hc_fail "flood.js slow failed"
	it_log "flood: $(cat "$fl")"
	it_log "slowloris: $(cat "$sl")"
	it_json 'd.opens >= 4100 ? "y" : undefined' "$fl" >/dev/null ||
	    hc_fail "the flood opened fewer than 4100 sockets"
	sleep 1
	gmax=$(sort -n "$HC_D/gauge.txt" | tail -1)
	it_log "pubgate_connections during the flood: $(wc -l <"$HC_D/gauge.txt") samples, max ${gmax:-none}"
	[ -n "$gmax" ] && [ "$(wc -l <"$HC_D/gauge.txt")" -ge 10 ] ||
	    hc_fail "too few samples of pubgate_connections during the flood"
	[ "$gmax" -ge 32 ] ||
	    hc_fail "the gate held at most $gmax connections: the flood did not reach it"
	[ "$gmax" -le 84 ] ||
	    hc_fail "the gate held $gmax connections (64 per address, plus npm's)"
	it_json 'd.closed_after_s >= 8 && d.closed_after_s <= 14 ? "y" : undefined' \
	    "$sl" >/dev/null ||
	    hc_fail "the slow head was cut after $(it_json d.closed_after_s "$sl") s, want the 10 s head deadline"
	it_json 'd.sent < d.head_bytes ? "y" : undefined' "$sl" >/dev/null ||
	    hc_fail "the slow head was sent completely"
	it_json 'd.status === "" || /^HTTP\/1\.1 408 /.test(d.status) ? "y" : undefined' \
	    "$sl" >/dev/null || hc_fail "the slow head got $(it_json d.status "$sl")"
	hc_vd_nothing @pgtest/h-slowloris
	curl -sS "$HC_ADMIN_URL/-/pubgate/metrics" >"$HC_D/metrics.txt" ||
	    hc_fail "admin metrics did not answer"
	it_expect_grep '^pubgate_client_cap_refused_total [1-9]' \
	    "$HC_D/metrics.txt" "connections refused over the per-address cap"
	it_expect_grep '^pubgate_head_timeouts_total [1-9]' \
	    "$HC_D/metrics.txt" "heads cut at the deadline"
}

# flood-slow-body: a publish whose body comes at 100 bytes a second is
# cut after the 10 s rate window (408) and nothing reaches Verdaccio.
hc_case_flood_slow_body() {
	local out="$HC_D/slowbody.json" before after
	before=$(hc_upstream_bytes)
	node "$HC_HERE/flood.js" slowbody "$PG_PORT" 127.0.0.1 "$T/ca.pem" \
	    "$out" "$TOKEN" || hc_fail "flood.js slowbody failed"
	it_log "slow body: $(cat "$out")"
	it_json 'd.answered_after_s >= 9 && d.answered_after_s <= 25 ? "y" : undefined' \
	    "$out" >/dev/null ||
	    hc_fail "the slow body was answered after $(it_json d.answered_after_s "$out") s, want the 10 s rate window"
	it_json '/^HTTP\/1\.1 408 /.test(d.status) ? "y" : undefined' "$out" \
	    >/dev/null || hc_fail "the slow body got \"$(it_json d.status "$out")\", want 408"
	after=$(hc_upstream_bytes)
	[ "$after" -eq "$before" ] || hc_fail "the slow publish reached Verdaccio ($((after - before)) bytes)"
	hc_vd_nothing @pgtest/h-slowbody
}
