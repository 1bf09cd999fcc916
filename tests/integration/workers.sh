#!/bin/bash
# tests/integration/workers.sh: `workers: 2` forks two serving processes
# that share the listener (SO_REUSEPORT) under a supervisor.  Through
# them, reads on fresh connections (spread over both workers) each get
# their full answer, an `npm publish` lands in Verdaccio byte-identical
# and is recorded once with the registry's status, the package then reads
# back and installs, and SIGTERM stops the supervisor and both workers.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
printf 'workers: 2\n' >"$T/workers.yaml"
it_start_pubgate -c "$T/workers.yaml"

it_expect_grep 'event=supervising workers=2' "$T/pubgate.err" \
    "the supervisor's start line"
# Both workers listen: one listening line each.
for i in $(seq 1 50); do
	[ "$(grep -c "event=listening url=$PG_URL" "$T/pubgate.err")" -ge 2 ] &&
	    break
	sleep 0.1
done
it_expect_eq "$(grep -c "event=listening url=$PG_URL" "$T/pubgate.err")" 2 \
    "listening lines (one per worker)"
workers=$(ps -o pid= --ppid "$IT_PG_PID" | wc -l)
it_expect_eq "$workers" 2 "worker processes under the supervisor"

# Reads, each on its own connection: every answer complete and right.
want=$(curl -sS "$VD_URL/-/ping") || it_fail "cannot ping Verdaccio"
for i in $(seq 1 20); do
	code=$(it_pgcurl -o "$T/ping.out" -w '%{http_code}' "$PG_URL/-/ping") ||
	    it_fail "read $i through the workers failed"
	it_expect_eq "$code" 200 "status of read $i"
	it_expect_eq "$(cat "$T/ping.out")" "$want" "body of read $i"
done

# Each worker numbers its own connections: two first connections means
# both served some of those reads.
it_expect_eq "$(grep -c ' conn=1 req=' "$T/pubgate.err")" 2 \
    "workers that served a read"

# A publish through the workers.
pkg="$T/w"
it_pkg "$pkg" @pgtest/workers 1.0.0
(cd "$pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
sum=$(it_sha512 "$T/pgtest-workers-1.0.0.tgz")
(cd "$pkg" && it_npm publish --access restricted) ||
    it_fail "npm publish through the workers failed"
it_expect_grep '\+ @pgtest/workers@1\.0\.0' "$T/npm.out" "npm publish output"
stored="$T/verdaccio/storage/@pgtest/workers/workers-1.0.0.tgz"
[ -f "$stored" ] || it_fail "Verdaccio has no tarball at ${stored#"$T"/}"
it_expect_eq "$(it_sha512 "$stored")" "$sum" "sha512 of the stored tarball"
it_log_until "$T/log.json" 'd[0].status' 201 \
    it_pglog --json --package '@pgtest/workers' || it_fail "pubgate log failed"
it_expect_eq "$(it_json 'd.length' "$T/log.json")" 1 "publish records"
it_expect_eq "$(it_json 'd[0].verdict' "$T/log.json")" allow "verdict"
it_expect_eq "$(it_json 'd[0].status' "$T/log.json")" 201 "recorded status"

# The package reads back through either worker.
for i in $(seq 1 6); do
	code=$(it_pgcurl -o "$T/pack.json" -w '%{http_code}' \
	    "$PG_URL/@pgtest%2fworkers") || it_fail "packument read $i failed"
	it_expect_eq "$code" 200 "status of packument read $i"
	it_expect_eq "$(it_json "d['dist-tags'].latest" "$T/pack.json")" 1.0.0 \
	    "latest in packument read $i"
	code=$(it_pgcurl -o "$T/got.tgz" -w '%{http_code}' \
	    "$PG_URL/@pgtest/workers/-/workers-1.0.0.tgz") ||
	    it_fail "tarball read $i failed"
	it_expect_eq "$code" 200 "status of tarball read $i"
	it_expect_eq "$(it_sha512 "$T/got.tgz")" "$sum" \
	    "sha512 of tarball read $i"
done
mkdir -p "$T/app"
printf '{"name":"app","version":"1.0.0","private":true}\n' >"$T/app/package.json"
(cd "$T/app" && it_npm install @pgtest/workers) ||
    it_fail "npm install through the workers failed"

# SIGTERM: the supervisor and both workers exit cleanly.
wpids=$(ps -o pid= --ppid "$IT_PG_PID")
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
for p in $wpids; do
	kill -0 "$p" 2>/dev/null && it_fail "worker $p still runs after SIGTERM"
done
it_expect_grep 'event=stopped workers=2' "$T/pubgate.err" \
    "the supervisor's stop line"
exit 0
