#!/bin/bash
# tests/integration/detector-cache.sh: `cache_dir:` lets `pubgate serve`
# keep its compiled secret detectors on disk (policy/hscache.c), so a
# reload or a worker start does not compile them again.  With `workers:
# 2`: the start compiles and stores them (a 0700 folder, a 0600 file); a
# SIGHUP is loaded by the supervisor first, then by each worker, all from
# the cache (nothing compiled); a policy with a new custom pattern is
# compiled once (by the supervisor) and read by both workers; workers
# killed and restarted serve the reloaded policy (its SHA-256 in the
# metrics), not the one of the start; `serve -n` leaves the cache alone.
# No registry is needed: nothing is published.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
cache="$T/cache/detectors"
cat >"$T/policy.yaml" <<'EOF'
version: 1
default: deny
rules:
  - match: "@pgtest/*"
    publish: allow
    secrets: block
EOF
IT_POLICY="$T/policy.yaml"
cat >"$T/pg.yaml" <<EOF
workers: 2
cache_dir: $cache
admin:
  listen: $admin
EOF

# `serve -n` checks the settings without writing the cache (it may run as
# another user than the service).
"$PUBGATE" serve -n -c "$T/pg.yaml" --policy "$IT_POLICY" \
    --listen http://127.0.0.1:1 >"$T/check.out" 2>&1 ||
    it_fail "serve -n failed: $(cat "$T/check.out")"
[ ! -e "$cache" ] || it_fail "serve -n wrote the detector cache"

# No registry and no npm here; the npmrc lib.sh writes wants these.
TOKEN=unused VD_PORT=9 VD_URL=http://127.0.0.1:9
it_start_pubgate -c "$T/pg.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"
for i in $(seq 1 50); do
	[ "$(grep -c "event=listening url=$PG_URL" "$T/pubgate.err")" -ge 2 ] &&
	    break
	sleep 0.1
done

# The start: compiled once and stored.
it_expect_grep "event=policy-loaded .*detectors_cached=0 detectors_compiled=1 cache_dir=$cache" \
    "$T/pubgate.err" "the start compiles the built-in detectors"
it_expect_eq "$(stat -c %a "$cache")" 700 "mode of the cache folder"
it_expect_eq "$(find "$cache" -name 'hs-*.db' | wc -l)" 1 "cache files"
it_expect_eq "$(stat -c %a "$(find "$cache" -name 'hs-*.db')")" 600 \
    "mode of the cache file"

# hup N: SIGHUP, then wait for N more `event=reloaded what=policy` lines.
hup() {
	local before i
	before=$(grep -c 'event=reloaded what=policy' "$T/pubgate.err" || true)
	kill -HUP "$IT_PG_PID"
	for i in $(seq 1 150); do
		[ "$(grep -c 'event=reloaded what=policy' "$T/pubgate.err" ||
		    true)" -ge $((before + $1)) ] && return 0
		sleep 0.2
	done
	it_fail "no $1 reload lines after SIGHUP"
}

# A reload of the same policy: the supervisor and both workers read the
# detectors back; nothing is compiled.
hup 3
it_expect_eq "$(grep -c 'event=reloaded what=policy worker=supervisor .*detectors_cached=1 detectors_compiled=0' "$T/pubgate.err")" 1 \
    "the supervisor's reload, from the cache"
it_expect_eq "$(grep -Ec 'event=reloaded what=policy worker=[01] .*detectors_cached=1 detectors_compiled=0' "$T/pubgate.err")" 2 \
    "the workers' reloads, from the cache"

# A new custom pattern is a new database: compiled once, by the
# supervisor; the workers read both.
cat >"$T/policy.yaml" <<'EOF'
version: 1
default: deny
rules:
  - match: "@pgtest/*"
    publish: allow
    secrets: block
    custom_secrets:
      - { id: acme-token, regex: 'acme_[a-z0-9]{32}' }
EOF
sha=$(sha256sum "$T/policy.yaml" | cut -d' ' -f1)
hup 3
it_expect_eq "$(grep -c "event=reloaded what=policy worker=supervisor .*sha256=$sha detectors_cached=1 detectors_compiled=1" "$T/pubgate.err")" 1 \
    "the supervisor compiles the new pattern set"
it_expect_eq "$(grep -Ec "event=reloaded what=policy worker=[01] .*sha256=$sha detectors_cached=2 detectors_compiled=0" "$T/pubgate.err")" 2 \
    "the workers read both databases from the cache"
it_expect_eq "$(find "$cache" -name 'hs-*.db' | wc -l)" 2 "cache files"
it_expect_eq "$(grep -c 'detectors_compiled=[1-9]' "$T/pubgate.err")" 2 \
    "compilations in all (the start and the new pattern set)"

# Workers that die are started again with the policy in force.
wpids=$(ps -o pid= --ppid "$IT_PG_PID")
it_expect_eq "$(echo "$wpids" | wc -w)" 2 "workers before the kill"
for p in $wpids; do
	kill -KILL "$p"
done
for i in $(seq 1 150); do
	[ "$(grep -c 'event=worker-died' "$T/pubgate.err")" -ge 2 ] &&
	    [ "$(ps -o pid= --ppid "$IT_PG_PID" | wc -l)" -eq 2 ] &&
	    curl -s -o /dev/null "$admin/-/pubgate/health" && break
	sleep 0.2
done
it_expect_eq "$(ps -o pid= --ppid "$IT_PG_PID" | wc -l)" 2 \
    "workers after the restart"
it_wait_http "$admin/-/pubgate/health" || it_fail "admin not back"
curl -sS -o "$T/metrics" "$admin/-/pubgate/metrics" ||
    it_fail "metrics after the restart"
it_expect_grep "pubgate_policy_info\\{sha256=\"$sha\"" "$T/metrics" \
    "a restarted worker serves the reloaded policy"
it_expect_eq "$(grep -c 'detectors_compiled=[1-9]' "$T/pubgate.err")" 2 \
    "compilations after the restart (none more)"

it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
