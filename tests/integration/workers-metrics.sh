#!/bin/bash
# tests/integration/workers-metrics.sh: with `workers: 4` a scrape of
# /-/pubgate/metrics (answered by worker 0) counts what every worker
# answered: N reads, each on its own connection (so several workers serve
# them), show as exactly N more requests in one scrape, promtool-clean,
# with pubgate_workers 4.  A worker killed with SIGKILL is started again
# by the supervisor and takes its predecessor's slot: the totals do not go
# down, and go on counting; the same for worker 0, the one that answers
# scrapes.
. "$(dirname "$0")/lib.sh"
it_init
it_need promtool ss
it_make_ca
it_start_verdaccio
it_adduser alice
admin_port=$(it_free_port)
ADMIN="http://127.0.0.1:$admin_port"
cat >"$T/workers.yaml" <<EOF
workers: 4
admin:
  listen: $ADMIN
EOF
it_start_pubgate -c "$T/workers.yaml"
it_wait_http "$ADMIN/-/pubgate/health" || it_fail "the admin listener is not up"

# listening N: waits until N listening lines for the gate's URL.
listening() {
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c "event=listening url=$PG_URL" "$T/pubgate.err")" -ge "$1" ] &&
		    return 0
		sleep 0.1
	done
	it_fail "fewer than $1 listening lines"
}
listening 4

# scrape: the metrics into $T/metrics.txt, promtool-clean.
scrape() {
	curl -sS -o "$T/metrics.txt" "$ADMIN/-/pubgate/metrics" ||
	    it_fail "cannot scrape $ADMIN/-/pubgate/metrics"
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 &&
	    [ ! -s "$T/promtool.out" ] ||
	    it_fail "promtool check metrics: $(cat "$T/promtool.out")"
}
# requests: every request the scrape counts, all kinds and statuses.
requests() {
	awk '/^pubgate_requests_total\{/ { n += $2 } END { print n + 0 }' \
	    "$T/metrics.txt"
}
value() {
	awk -v s="$1" '$1 == s { print $2 }' "$T/metrics.txt"
}
# reads N: N reads through the gate, each on a new connection.
reads() {
	local i code
	for i in $(seq 1 "$1"); do
		code=$(it_pgcurl -o /dev/null -w '%{http_code}' "$PG_URL/-/ping") ||
		    it_fail "read $i failed"
		it_expect_eq "$code" 200 "status of read $i"
	done
}
# worker0: the pid of the worker holding the admin listener.
worker0() {
	ss -Hltnp "sport = :$admin_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' |
	    head -n 1
}

scrape
base=$(requests)
base2=$(value 'pubgate_requests_total{kind="read",status="2xx"}')
N=60
reads "$N"
served=$(grep -c ' conn=1 req=' "$T/pubgate.err" || true)
[ "$served" -ge 2 ] || it_fail "only $served worker(s) answered the reads"
scrape
total=$(requests)
it_expect_eq "$((total - base))" "$N" \
    "requests in one scrape after $N reads over $served workers"
it_expect_eq "$(value 'pubgate_requests_total{kind="read",status="2xx"}')" \
    "$((base2 + N))" "2xx reads"
it_expect_eq "$(value pubgate_workers)" 4 "workers serving"
sent=$(value pubgate_sent_bytes_total)
cpu=$(value pubgate_cpu_seconds_total)
node -e 'const [g, p] = process.argv.slice(1).map(Number);
    process.exit(g > 0 && g >= p ? 0 : 1)' "$cpu" \
    "$(value process_cpu_seconds_total)" ||
    it_fail "pubgate_cpu_seconds_total $cpu below worker 0's own CPU"
it_log "$N reads answered by $served workers, all counted: $total requests"

# SIGKILL a worker that does not answer scrapes: the supervisor starts
# another in its place; nothing counted is lost.
w0=$(worker0)
[ -n "$w0" ] || it_fail "no process holds the admin listener"
victim=$(ps -o pid= --ppid "$IT_PG_PID" | awk -v w="$w0" '$1 != w { print $1; exit }')
[ -n "$victim" ] || it_fail "no other worker to kill"
kill -KILL "$victim"
for i in $(seq 1 100); do
	grep -q 'event=worker-died .*status=137' "$T/pubgate.err" && break
	sleep 0.1
done
it_expect_grep 'event=worker-died .*status=137' "$T/pubgate.err" \
    "the supervisor saw the worker die"
listening 5
scrape
it_expect_eq "$(requests)" "$total" "requests after a worker was killed"
[ "$(value pubgate_sent_bytes_total)" -ge "$sent" ] ||
    it_fail "sent bytes went down after a worker was killed"
node -e 'process.exit(Number(process.argv[2]) >= Number(process.argv[1]) ? 0 : 1)' \
    "$cpu" "$(value pubgate_cpu_seconds_total)" ||
    it_fail "pubgate_cpu_seconds_total went down after a worker was killed"
it_expect_eq "$(value pubgate_workers)" 4 "workers after the restart"
reads 20
scrape
it_expect_eq "$(requests)" "$((total + 20))" "requests go on counting"
total=$((total + 20))

# The same for worker 0, which answers the scrapes.
kill -KILL "$w0"
for i in $(seq 1 100); do
	[ "$(grep -c 'event=worker-died .*status=137' "$T/pubgate.err")" -ge 2 ] &&
	    break
	sleep 0.1
done
listening 6
it_wait_http "$ADMIN/-/pubgate/health" || it_fail "worker 0 did not come back"
for i in $(seq 1 50); do
	[ -n "$(worker0)" ] && [ "$(worker0)" != "$w0" ] && break
	sleep 0.1
done
scrape
it_expect_eq "$(requests)" "$total" "requests after worker 0 was killed"
it_expect_eq "$(value pubgate_workers)" 4 "workers after worker 0's restart"
reads 10
scrape
it_expect_eq "$(requests)" "$((total + 10))" "requests counted by the new worker 0"
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
