#!/bin/bash
# tests/hostile/run.sh: the hostile-publish suite's driver (issue 8).
# Starts one real Verdaccio (TLS, test CA, as registry.npmjs.org) and one
# `pubgate serve` in front of it (reverse listener $PG_URL, egress listener
# $EG_URL intercepting registry.npmjs.org) for the whole run, then runs
# each case named on the command line, in order, each in its own subshell,
# and reports every case as a TAP line on stdout (meson reads it):
#
#   run.sh CASE...        the named cases (meson.build lists the enabled ones)
#   run.sh --all          every case defined in cases/*.sh
#   run.sh --list         the names of every case defined
#   run.sh --serve-config FILE CASE...   pubgate serve also gets -c FILE
#
# A case is a function hc_case_<name> (dashes in the name are underscores
# in the function) in one of cases/<class>.sh; it fails through it_fail or
# hc_fail, with the reason on stderr.  The helpers are in lib.sh here and
# in tests/integration/lib.sh.  Everything is on loopback; nothing reaches
# the network.  The environment: PUBGATE (the binary); KEEP=1 keeps the
# temporary directory.
HC_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HC_HERE/../integration/lib.sh"
. "$HC_HERE/../integration/egress-lib.sh"
. "$HC_HERE/lib.sh"
for f in "$HC_HERE"/cases/*.sh; do
	. "$f"
done
IT_NAME=hostile

hc_all_cases() {
	declare -F | awk '{print $3}' | sed -n 's/^hc_case_//p' | tr _ - |
	    sort
}

HC_SERVE=()
if [ "${1:-}" = --serve-config ]; then
	HC_SERVE=(-c "$2")
	shift 2
fi
case "${1:-}" in
--list)
	hc_all_cases
	exit 0
	;;
--all)
	mapfile -t HC_CASES < <(hc_all_cases)
	;;
*)
	HC_CASES=("$@")
	;;
esac
[ "${#HC_CASES[@]}" -gt 0 ] || { echo "usage: run.sh CASE... | --all | --list" >&2; exit 2; }
for c in "${HC_CASES[@]}"; do
	declare -F "hc_case_${c//-/_}" >/dev/null ||
	    { echo "run.sh: no such case: $c" >&2; exit 2; }
done

# TAP goes to fd 3 (the real stdout); everything else to stderr.
exec 3>&1 1>&2
# The flood cases hold thousands of sockets (CI runs as root).
[ "$(ulimit -n)" -ge 16384 ] || ulimit -n 16384 2>/dev/null || true
it_init
HC_ADMIN_PORT=$(it_free_port)
HC_ADMIN_URL="http://127.0.0.1:$HC_ADMIN_PORT"
hc_start --admin "$HC_ADMIN_URL" "${HC_SERVE[@]}"
printf '1..%d\n' "${#HC_CASES[@]}" >&3
HC_FAILED=0
n=0
for c in "${HC_CASES[@]}"; do
	n=$((n + 1))
	t0=$(date +%s.%N)
	printf '\n=== %s\n' "$c" >&2
	set +e
	(
		set -e
		IT_NAME="hostile/$c"
		IT_MAIN_PID=$BASHPID
		HC_CASE=$c
		HC_UA="pubgate-hostile/$c"
		HC_D="$T/case/$c"
		mkdir -p "$HC_D"
		"hc_case_${c//-/_}"
	)
	rc=$?
	set -e
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 0 ]; then
		printf 'ok %d - %s (%ss)\n' "$n" "$c" "$secs" >&3
		printf 'PASS %s (%ss)\n' "$c" "$secs" >&2
	else
		HC_FAILED=$((HC_FAILED + 1))
		printf 'not ok %d - %s (%ss)\n' "$n" "$c" "$secs" >&3
		printf 'FAIL %s (%ss)\n' "$c" "$secs" >&2
	fi
	# pubgate must still be up after every case.
	if ! kill -0 "$IT_PG_PID" 2>/dev/null; then
		it_fail "pubgate died during case $c"
	fi
done
[ "$HC_FAILED" -eq 0 ] || it_fail "$HC_FAILED of ${#HC_CASES[@]} cases failed"
exit 0
