# tests/hostile/cases/flood.sh: class 7 of issue 8, connection
# exhaustion, bounded in count and time, on loopback.  Run with
# `run.sh --serve-config flood.yaml` (header deadline 10 s, 64
# connections per client address, publish bodies at least 1 KB/s).
# flood.js is the attacker.

# flood-slowloris: 4,100 sockets from 127.0.0.2 (one byte or nothing,
# reopened 2 s after they are closed, for 25 s) and, from 127.0.0.3, a
# TLS client sending a request head one byte a second.  Meanwhile a normal npm
# install and npm publish from 127.0.0.1 are served; the gate never lets
# 127.0.0.2 hold more than 64 connections for more than 3 s, no flood
# socket outlives the head deadline by much, and the slow head is cut at
# the deadline (408).
hc_case_flood_slowloris() {
	local name=@pgtest/h-flood-a name2=@pgtest/h-flood-b fpid spid t0 t1
	local fl="$HC_D/flood.json" sl="$HC_D/slow.json" i
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
	it_json 'd.max_held >= 1 && d.max_held <= 64 ? "y" : undefined' "$fl" \
	    >/dev/null || hc_fail "127.0.0.2 held $(it_json d.max_held "$fl") connections over 3 s (cap 64)"
	it_json 'd.max_life_ms <= 14000 ? "y" : undefined' "$fl" >/dev/null ||
	    hc_fail "a flood socket stayed open $(it_json d.max_life_ms "$fl") ms (head deadline 10 s)"
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
