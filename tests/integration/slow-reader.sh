#!/bin/bash
# tests/integration/slow-reader.sh: a client that reads a 100 MB tarball
# slowly must not make pubgate buffer it: the upstream (Verdaccio, fast) is
# throttled instead: the read grows pubgate's peak RSS (VmHWM from /proc,
# the largest over its processes) by less than 32 MiB, and the peak stays
# under 96 MiB (the idle ASan build is about 68 MB since the 86 compiled
# secret detectors and libpq; it was 53 MB).  The bytes arrive intact.
#
# Under AddressSanitizer, freed memory sits in a quarantine (256 MB by
# default) that would be counted as pubgate's; this test shrinks it so the
# figure measures pubgate's buffering, not the sanitizer's.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4:thread_local_quarantine_size_kb=256"
it_start_pubgate

limit_kb=$((96 * 1024))
size=$((100 * 1024 * 1024))

# The big package goes straight to Verdaccio: this test is about reads.
pkg="$T/huge"
it_pkg "$pkg" @pgtest/huge 1.0.0
# First byte not "{": random bytes read as JSON can be undecidable.
head -c "$size" /dev/urandom | { printf B; tail -c +2; } >"$pkg/dist/blob.bin"
(cd "$pkg" && it_npm_direct publish --access restricted) ||
    it_fail "setup: publishing 100 MB to Verdaccio failed"
stored="$T/verdaccio/storage/@pgtest/huge/huge-1.0.0.tgz"
[ -f "$stored" ] || it_fail "setup: Verdaccio has no tarball"
rm -rf "$pkg"
want=$(it_sha512 "$stored")
[ "$(stat -c %s "$stored")" -gt "$size" ] ||
    it_fail "setup: the tarball is smaller than 100 MB"

# hwm_kb: the largest VmHWM of pubgate and its child processes, in kB.
hwm_kb() {
	local p max=0 v
	for p in "$IT_PG_PID" $(cat /proc/"$IT_PG_PID"/task/*/children 2>/dev/null); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
	done
	echo "$max"
}

before=$(hwm_kb)
it_log "pubgate VmHWM before: ${before} kB"
start=$(date +%s)
# 4 MB/s: about 25 s for the whole tarball; the kernel's socket buffers
# fill long before that, so pubgate must stop reading from Verdaccio.
it_pgcurl --limit-rate 4M -o "$T/slow.tgz" \
    "$PG_URL/@pgtest/huge/-/huge-1.0.0.tgz" &
reader=$!
IT_PIDS+=("$reader")
peak=0
while kill -0 "$reader" 2>/dev/null; do
	v=$(hwm_kb)
	[ "$v" -gt "$peak" ] && peak=$v
	if [ "$peak" -ge "$limit_kb" ]; then
		it_fail "pubgate's RSS reached ${peak} kB (limit ${limit_kb} kB) while a slow client reads"
	fi
	sleep 0.5
done
wait "$reader" || it_fail "the slow download failed"
elapsed=$(($(date +%s) - start))
v=$(hwm_kb)
[ "$v" -gt "$peak" ] && peak=$v
it_log "slow read took ${elapsed} s; pubgate VmHWM ${peak} kB"
[ "$elapsed" -ge 15 ] ||
    it_fail "the read took ${elapsed} s: the client was not slow, the test proves nothing"
it_expect_eq "$(it_sha512 "$T/slow.tgz")" "$want" \
    "sha512 of the tarball read slowly through pubgate"
[ "$peak" -lt "$limit_kb" ] ||
    it_fail "pubgate's peak RSS ${peak} kB is not under ${limit_kb} kB"
# Under ASan the idle baseline is already most of the budget: the growth
# the read caused is checked on its own too.
[ $((peak - before)) -lt $((32 * 1024)) ] ||
    it_fail "the slow read grew pubgate's RSS by $((peak - before)) kB"
exit 0
