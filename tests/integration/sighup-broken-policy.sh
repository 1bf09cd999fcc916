#!/bin/bash
# tests/integration/sighup-broken-policy.sh: SIGHUP reloads the policy; a
# policy that fails to load never replaces the working one.  With the test
# policy a publish passes; the file is broken (an unknown key) and HUPed:
# the errors are logged with file:line:col and the next publish still
# passes under the old policy; then a valid policy that refuses the scope
# is HUPed and the next publish is blocked (the reload itself works).
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
cp "$IT_HERE/policy.yaml" "$T/policy.yaml"
IT_POLICY="$T/policy.yaml"
it_start_pubgate

# publish VERSION: npm publish of @pgtest/hup@VERSION; returns npm's code.
publish() {
	rm -rf "$T/p"
	it_pkg "$T/p" @pgtest/hup "$1"
	(cd "$T/p" && it_npm publish --access restricted)
}

# hup: SIGHUP, then wait until pubgate's log grew (it logs every reload).
hup() {
	local before i
	before=$(stat -c %s "$T/pubgate.err" 2>/dev/null || echo 0)
	kill -HUP "$IT_PG_PID"
	for i in $(seq 1 50); do
		[ "$(stat -c %s "$T/pubgate.err" 2>/dev/null || echo 0)" -gt \
		    "$before" ] && break
		sleep 0.2
	done
	sleep 0.5
	kill -0 "$IT_PG_PID" 2>/dev/null || it_fail "pubgate died on SIGHUP"
}

publish 1.0.0 || it_fail "publish under the test policy failed"
it_vd_has @pgtest/hup 1.0.0 || it_fail "1.0.0 not in Verdaccio"

# Break the policy: a typo'd key is an error, not an ignored line.
sed -i 's/^    publish: allow$/    publsh: allow/' "$T/policy.yaml"
grep -q publsh "$T/policy.yaml" || it_fail "could not break the policy"
hup
it_expect_grep 'policy\.yaml:[0-9]+:[0-9]+.*publsh' "$T/pubgate.err" \
    "the load error (file:line:col, the key) in pubgate's log"
publish 1.0.1 || it_fail "publish after a broken reload failed: old policy lost"
it_vd_has @pgtest/hup 1.0.1 || it_fail "1.0.1 not in Verdaccio"

# A valid policy that refuses the scope takes effect on the next HUP.
cat >"$T/policy.yaml" <<'EOF'
version: 1
default: deny
rules:
  - match: "@pgtest/*"
    publish: deny
    message: "publishing is frozen for this test"
EOF
"$PUBGATE" policy check "$T/policy.yaml" >/dev/null ||
    it_fail "the frozen policy does not load"
hup
set +e
publish 1.0.2
rc=$?
set -e
[ "$rc" -ne 0 ] || it_fail "publish allowed after reloading a deny policy"
it_expect_grep 'frozen' "$T/npm.err" "npm prints the new policy's message"
if it_vd_has @pgtest/hup 1.0.2; then
	it_fail "1.0.2 reached Verdaccio"
fi
exit 0
