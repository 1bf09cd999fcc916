#!/bin/sh
# tests/integration/install.sh: installs the npm packages the integration
# tests drive (Verdaccio, the stand-in registry) into
# tests/integration/node_modules.  Idempotent.
set -eu
cd "$(dirname "$0")"
if [ -x node_modules/.bin/verdaccio ]; then
	exit 0
fi
npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2
