#!/bin/sh
# contrib/ci/scan.sh: the CI step before `npm publish`: judges the package
# folder PUBGATE_DIR (default .) under PUBGATE_POLICY (default: the strict
# policy pubgate embeds) as npm pack would pack it, prints the verdict and
# every reason, and writes the findings as SARIF 2.1.0 to PUBGATE_SARIF
# (default pubgate.sarif) for code scanning.  Exit: pubgate scan's, 0
# allowed, 1 blocked, 2 an error (then the SARIF file is removed, never
# left half-written or stale).
set -u
dir=${PUBGATE_DIR:-.}
sarif=${PUBGATE_SARIF:-pubgate.sarif}
set --
if [ -n "${PUBGATE_POLICY:-}" ]; then
	set -- -p "$PUBGATE_POLICY"
fi
if [ -n "${PUBGATE_NAME:-}" ]; then
	set -- "$@" --name "$PUBGATE_NAME"
fi
pubgate scan "$@" "$dir"
rc=$?
if [ "$rc" -le 1 ]; then
	pubgate scan "$@" --format sarif "$dir" >"$sarif.tmp"
	rc2=$?
	if [ "$rc2" -eq "$rc" ]; then
		mv "$sarif.tmp" "$sarif"
	else
		rm -f "$sarif.tmp" "$sarif"
		rc=2
	fi
else
	rm -f "$sarif"
fi
exit "$rc"
