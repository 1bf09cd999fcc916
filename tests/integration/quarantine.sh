#!/bin/bash
# tests/integration/quarantine.sh: blocked tarballs kept for review
# (issue 10, `quarantine: {dir, keep, max}`), with the real npm client and
# Verdaccio, two workers sharing the folder.
#   - serve -n: a group-writable folder, a symbolic link and a folder of
#     another shape are refused with the setting's place; a missing one
#     under a writable parent passes and is not made;
#   - serve makes the folder 0700; an allowed publish leaves nothing in it
#     (no part either);
#   - a blocked publish leaves exactly <id>.tgz, mode 0600, byte for byte
#     the .tgz npm packed, its sha512 the record's, `tar tzf` listing the
#     refused file; `pubgate show --quarantine` says kept; the admin API
#     serves it (token, octet-stream; 404 for the allowed decision, 400 for
#     a malformed id, 401 without the token); the console's decision page
#     links it; the metrics count it;
#   - three blocked publishes at once through two workers: three files;
#   - max: keeping one more deletes the oldest first (what stays is the
#     newest, within max); a tarball bigger than max alone is not kept and
#     the log says why, as for a truncated one (no sha512); the metrics
#     pass promtool;
#   - keep: 2s: a restart's sweep deletes the expired files and a dead
#     process's part but no file of another shape; a new file is gone
#     within a few seconds (the periodic sweep).
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_need tar stat
Q="$T/quar"
admin_port=$(it_free_port)
admin="http://127.0.0.1:$admin_port"
admin_token=admin-token-quarantine-$$-0123456789
printf '%s\n' "$admin_token" >"$T/admin.token"
chmod 600 "$T/admin.token"
# conf KEEP MAX: the settings file.
conf() {
	cat >"$T/pubgate.yaml" <<EOF
workers: 2
admin:
  listen: $admin
  token_file: $T/admin.token
quarantine:
  dir: $Q
  keep: $1
  max: $2
EOF
}
# check_n: serve -n with the test's flags; its output in $T/check.out.
check_n() {
	set +e
	"$PUBGATE" serve -n -c "$T/pubgate.yaml" --listen "https://127.0.0.1:1" \
	    --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
	    --upstream "$VD_URL" --policy "$IT_POLICY" --db "$T/pubgate.db" \
	    >"$T/check.out" 2>&1
	rc=$?
	set -e
}

# 1. serve -n checks the folder and makes nothing.
conf 1h 64KB
check_n
[ "$rc" -eq 0 ] || it_fail "serve -n with a missing, makeable folder: $(cat "$T/check.out")"
[ -e "$Q" ] && it_fail "serve -n made the quarantine folder"
mkdir -m 0770 "$Q"
chmod 0770 "$Q"
check_n
[ "$rc" -ne 0 ] || it_fail "serve -n took a group-writable folder"
it_expect_grep "pubgate.yaml:[0-9]+:[0-9]+: quarantine.dir $Q: is writable by its group or others" \
    "$T/check.out" "serve -n names the setting and the mode"
rmdir "$Q"
mkdir -m 0700 "$T/elsewhere"
ln -s "$T/elsewhere" "$Q"
check_n
[ "$rc" -ne 0 ] || it_fail "serve -n took a symbolic link"
it_expect_grep "quarantine.dir $Q: is a symbolic link" "$T/check.out" \
    "serve -n refuses a link"
rm "$Q"
printf 'x\n' >"$Q"
check_n
[ "$rc" -ne 0 ] || it_fail "serve -n took a file for the folder"
rm "$Q"

it_start_pubgate -c "$T/pubgate.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"
it_expect_eq "$(stat -c %a "$Q")" 700 "serve made the folder 0700"

# kept: the folder's files, the lock file aside, one a line.
kept() {
	(cd "$Q" && ls -A | grep -vx '\.lock' || true)
}
pack() {
	local f
	f=$(cd "$T" && npm pack "$1" 2>/dev/null | tail -1)
	[ -n "$f" ] && [ -f "$T/$f" ] || it_fail "npm pack $1"
	mv "$T/$f" "$T/$2.tgz"
	echo "$T/$2.tgz"
}
publish() {
	set +e
	(cd "$T" && it_npm publish --access restricted "$1")
	rc=$?
	set -e
}
decision_of() {
	grep -Eo 'decision [0-9a-f]{8}-[0-9]+' "${1:-$T/npm.err}" | head -1 |
	    cut -d' ' -f2
}
# leaky NAME VERSION RANDOM_KB: a package with a denied dist/key.pem and
# RANDOM_KB KiB of incompressible bytes (a size to count on).
leaky() {
	local dir="$T/src-${1//[@\/]/_}-$2"
	it_pkg "$dir" "$1" "$2"
	printf 'not a key, a fixture of %s\n' "$1" >"$dir/dist/key.pem"
	# First byte not "{": random bytes read as JSON can be undecidable.
	head -c $(($3 * 1024)) /dev/urandom | { printf B; tail -c +2; } \
	    >"$dir/dist/data.bin"
	pack "$dir" "${1//[@\/]/_}-$2"
}

# 2. Allowed: nothing is left in the folder.
it_pkg "$T/ok" @pgtest/ok 1.0.0
tgz_ok=$(pack "$T/ok" ok)
publish "$tgz_ok"
[ "$rc" -eq 0 ] || it_fail "the allowed publish failed"
it_pglog --json --package @pgtest/ok >"$T/ok.json"
id_ok=$(it_json 'd[0].request_id' "$T/ok.json")
it_expect_eq "$(kept)" "" "an allowed publish leaves nothing (no part either)"

# 3. Blocked: exactly <id>.tgz, 0600, the bytes npm packed.
tgz_a=$(leaky @pgtest/qa 1.0.0 1)
publish "$tgz_a"
[ "$rc" -ne 0 ] || it_fail "the denied file was not refused"
id=$(decision_of)
[ -n "$id" ] || it_fail "npm's output names no decision id"
it_expect_eq "$(kept)" "$id.tgz" "one file, named by the decision id"
it_expect_eq "$(stat -c %a "$Q/$id.tgz")" 600 "the kept file's mode"
cmp -s "$Q/$id.tgz" "$tgz_a" || it_fail "the kept file is not the packed .tgz"
it_expect_eq "$(it_sha512 "$Q/$id.tgz")" \
    "$("$PUBGATE" show --db "$T/pubgate.db" --json "$id" | it_json 'd.sha512')" \
    "the kept file's sha512 is the record's"
tar tzf "$Q/$id.tgz" >"$T/list.txt" || it_fail "tar cannot list the kept file"
it_expect_grep '^package/dist/key\.pem$' "$T/list.txt" "the refused file is in it"
"$PUBGATE" show --db "$T/pubgate.db" --quarantine "$Q" "$id" >"$T/show.out"
it_expect_grep "^  quarantine +kept: $Q/$id\.tgz \([0-9]+ bytes\)" \
    "$T/show.out" "pubgate show says it is kept"
"$PUBGATE" show --db "$T/pubgate.db" --quarantine "$Q" "$id_ok" >"$T/show.out"
it_expect_grep '^  quarantine +not kept' "$T/show.out" \
    "pubgate show: the allowed one is not kept"

# The admin API serves it, behind the token.
get() {
	local path=$1
	shift
	code=$(curl -sS -D "$T/head.txt" -o "$T/got.bin" -w '%{http_code}' \
	    "$@" "$admin$path") || code=000
}
auth=(-H "authorization: Bearer $admin_token")
get "/-/pubgate/decisions/$id/tarball"
it_expect_eq "$code" 401 "the tarball without the token"
get "/-/pubgate/decisions/$id/tarball" "${auth[@]}"
it_expect_eq "$code" 200 "the tarball with the token"
it_expect_grep '^Content-Type: application/octet-stream' "$T/head.txt" \
    "its content type"
cmp -s "$T/got.bin" "$tgz_a" || it_fail "the API's bytes are not the tarball"
get "/-/pubgate/decisions/$id_ok/tarball" "${auth[@]}"
it_expect_eq "$code" 404 "no tarball for the allowed decision"
it_expect_grep '"error": "admin API: no tarball kept' "$T/got.bin" "a JSON error"
get "/-/pubgate/decisions/..%2f..%2fpubgate.db/tarball" "${auth[@]}"
it_expect_eq "$code" 400 "a malformed decision id"

# The console's decision page links it; the link downloads it.
jar="$T/cookies"
curl -sS -c "$jar" -o "$T/login.html" "$admin/-/pubgate/ui/login"
csrf=$(grep -Eo 'name="csrf" value="[0-9a-f]+"' "$T/login.html" |
    head -1 | grep -Eo '[0-9a-f]{32}') || it_fail "no CSRF token on the login form"
curl -sS -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "token=$admin_token" --data-urlencode "csrf=$csrf" \
    --data-urlencode "name=reviewer" "$admin/-/pubgate/ui/login"
curl -sS -b "$jar" -o "$T/page.html" "$admin/-/pubgate/ui/decision?id=$id"
it_expect_grep "href=\"/-/pubgate/ui/tarball\?id=$id\">$id\.tgz</a>" \
    "$T/page.html" "the decision page links the kept tarball"
code=$(curl -sS -b "$jar" -o "$T/got.bin" -w '%{http_code}' \
    "$admin/-/pubgate/ui/tarball?id=$id")
it_expect_eq "$code" 200 "the console's download"
cmp -s "$T/got.bin" "$tgz_a" || it_fail "the console's bytes are not the tarball"

# 4. Three blocked at once, through both workers: three files, 0600.
pids=()
for n in 1 2 3; do
	t=$(leaky "@pgtest/qc$n" 1.0.0 2)
	(cd "$T" && npm --userconfig "$T/npmrc" publish --access restricted \
	    "$t" >"$T/npm$n.out" 2>"$T/npm$n.err") &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" && it_fail "a concurrent leaky publish was allowed"
done
for n in 1 2 3; do
	i=$(decision_of "$T/npm$n.err")
	[ -n "$i" ] || it_fail "publish $n names no decision"
	[ -f "$Q/$i.tgz" ] || it_fail "decision $i of publish $n is not kept"
	it_expect_eq "$(stat -c %a "$Q/$i.tgz")" 600 "mode of $i.tgz"
done
it_expect_eq "$(kept | wc -l)" 4 "four kept files"
it_expect_eq "$(kept | grep -c '^\.part-' || true)" 0 "no part is left"

# 5. max: the oldest go first; one bigger than max alone is not kept.
order=$(cd "$Q" && ls -tr -- *.tgz)
total_before=$(cat "$Q"/*.tgz | wc -c)
tgz_b=$(leaky @pgtest/qb 1.0.0 58)
size_b=$(stat -c %s "$tgz_b")
publish "$tgz_b"
[ "$rc" -ne 0 ] || it_fail "the big leaky publish was allowed"
id_b=$(decision_of)
[ -f "$Q/$id_b.tgz" ] || it_fail "the newest tarball is not kept"
total=$(cat "$Q"/*.tgz | wc -c)
[ "$total" -le 65536 ] || it_fail "$total bytes kept, over max (64KB)"
[ $((total_before + size_b)) -gt 65536 ] ||
    it_fail "the test's sizes do not pass max ($total_before + $size_b)"
# What went is the oldest ones: what stays of the old is the newest.
left=$(cd "$Q" && ls -tr -- *.tgz | grep -vx "$id_b.tgz" || true)
gone=$(printf '%s\n' "$order" | grep -vxF -f <(printf '%s\n' "$left") || true)
[ -n "$gone" ] || it_fail "nothing was evicted"
expect_left=$(printf '%s\n' "$order" | tail -n +$(($(printf '%s\n' "$gone" |
    wc -l) + 1)))
it_expect_eq "$left" "$expect_left" "the oldest were deleted first"
[ -f "$Q/$id.tgz" ] && it_fail "the oldest kept file survived the eviction"
it_expect_grep "event=quarantine-swept when=keep .* evicted=[1-9]" \
    "$T/pubgate.err" "the eviction is logged"

tgz_h=$(leaky @pgtest/qh 1.0.0 80)
publish "$tgz_h"
[ "$rc" -ne 0 ] || it_fail "the huge leaky publish was allowed"
id_h=$(decision_of)
[ -e "$Q/$id_h.tgz" ] && it_fail "a tarball over max alone was kept"
it_expect_grep "req=$id_h event=quarantine-skipped reason=over-max" \
    "$T/pubgate.err" "the skip is logged with its reason"
it_expect_eq "$(kept | grep -c '^\.part-' || true)" 0 "no part is left"
[ -f "$Q/$id_b.tgz" ] || it_fail "a tarball not kept evicted another"

# A tarball cut short (no sha512 to match): refused, not kept, said why.
tgz_t=$(leaky @pgtest/qt 1.0.0 4)
head -c $(($(stat -c %s "$tgz_t") - 200)) "$tgz_t" >"$T/cut.tgz"
it_body "$T/cut.tgz" @pgtest/qt 1.0.0 restricted >"$T/cut.json"
code=$(it_pgcurl -o "$T/cut.out" -w '%{http_code}' -X PUT \
    -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    --data-binary @"$T/cut.json" "$PG_URL/@pgtest%2fqt")
it_expect_eq "$code" 400 "a truncated tarball is refused"
id_t=$(decision_of "$T/cut.out")
[ -n "$id_t" ] || it_fail "the refusal names no decision"
[ -e "$Q/$id_t.tgz" ] && it_fail "a tarball not read whole was kept"
it_expect_grep "req=$id_t event=quarantine-skipped reason=incomplete" \
    "$T/pubgate.err" "the skip of an incomplete tarball is logged"
it_expect_eq "$(kept | grep -c '^\.part-' || true)" 0 "no part is left"

code=$(curl -sS -o "$T/metrics.txt" -w '%{http_code}' "${auth[@]}" \
    "$admin/-/pubgate/metrics")
it_expect_eq "$code" 200 "metrics"
it_need promtool
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
    it_fail "promtool check metrics: $(cat "$T/promtool.out")"
it_expect_grep '^pubgate_quarantine_kept_total [0-9]+$' "$T/metrics.txt" \
    "the kept counter"
it_expect_grep '^pubgate_quarantine_skipped_total\{reason="over-max"\} [0-9]+$' \
    "$T/metrics.txt" "the skipped counter"

# 6. keep: 2s; a restart sweeps what expired, a dead process's part, and
# nothing else; then the timer's sweep.
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
printf 'x' >"$Q/.part-0badc0de-1-000000000000"
touch -d '3 hours ago' "$Q/.part-0badc0de-1-000000000000"
printf 'notes\n' >"$Q/notes.txt"
printf 'not ours\n' >"$Q/README.tgz"
touch -d '1 hour ago' "$Q/notes.txt" "$Q/README.tgz"
sleep 2.1
conf 2s 64KB
it_start_pubgate -c "$T/pubgate.yaml"
it_wait_http "$admin/-/pubgate/health" || it_fail "the admin listener is not up"
for i in $(seq 1 50); do
	[ -z "$(kept | grep -vxe notes.txt -e README.tgz)" ] && break
	sleep 0.1
done
it_expect_eq "$(kept | sort | tr '\n' ' ')" "README.tgz notes.txt " \
    "the start's sweep left only files of other shapes"
tgz_e=$(leaky @pgtest/qe 1.0.0 1)
publish "$tgz_e"
[ "$rc" -ne 0 ] || it_fail "the leaky publish was allowed"
id_e=$(decision_of)
[ -f "$Q/$id_e.tgz" ] || it_fail "the new tarball is not kept"
for i in $(seq 1 80); do
	[ -f "$Q/$id_e.tgz" ] || break
	sleep 0.1
done
[ -f "$Q/$id_e.tgz" ] && it_fail "an expired tarball is still there after 8 s"
it_expect_grep 'event=quarantine-swept when=timer .*expired=1' \
    "$T/pubgate.err" "the timer's sweep is logged"
[ -f "$Q/notes.txt" ] || it_fail "the sweep deleted a file not its own"
it_log "ok"
