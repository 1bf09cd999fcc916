#!/bin/sh
# contrib/run.sh: the README's run command.  Installs what is missing,
# builds only the pubgate binary (build-run/, -Dtests=false: no tests, no
# fuzzers), showing ninja's progress, and runs `pubgate serve` on its
# working default: plain HTTP on http://127.0.0.1:8080 (loopback only),
# upstream https://registry.npmjs.org (TLS verified against the system
# store), the embedded strict policy.  State (the decision store and its
# WAL files) goes to a state folder outside the checkout:
# $PUBGATE_STATE, else $XDG_STATE_HOME/pubgate, else ~/.local/state/pubgate.
# Extra arguments go to `pubgate serve` (for example -c contrib/pubgate.yaml,
# or --listen URL).
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
build=build-run
if [ ! -f "$build/build.ninja" ]; then
	echo "pubgate: configuring $build/ (the binary only)" >&2
	meson setup "$build" -Dtests=false -Dbuildtype=release >/dev/null
fi
echo "pubgate: building $build/proxy/pubgate" >&2
ninja -C "$build" proxy/pubgate >&2
state=${PUBGATE_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/pubgate}
mkdir -p "$state"
chmod 0700 "$state"
echo "pubgate: decisions go to $state/pubgate.db (pubgate log --db $state/pubgate.db)" >&2
echo "pubgate: next, in another shell:" >&2
echo "         npm --registry http://127.0.0.1:8080/ view lodash version" >&2
echo "         $build/proxy/pubgate --help" >&2
# A settings file (-c) names its own db; otherwise the state folder's.
for a in "$@"; do
	case $a in -c|--config|--config=*|--db|--db=*)
		exec "$build/proxy/pubgate" serve "$@" ;;
	esac
done
exec "$build/proxy/pubgate" serve --db "$state/pubgate.db" "$@"
