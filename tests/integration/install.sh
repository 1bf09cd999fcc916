#!/bin/sh
# tests/integration/install.sh: installs the npm packages the tests drive
# into tests/integration/node_modules: Verdaccio (the stand-in registry),
# node-tar at the version npm bundles (the differential oracle), pnpm and
# yarn 4 and yarn 1 (real clients for the hostile-publish controls and
# the clients test), bun 1.4.5 for the clients test (its baseline x86-64
# build, which needs no AVX2, from its npm package: no install script, no
# download from elsewhere), puppeteer-core
# (drives Debian's chromium for the console test).  Idempotent.
set -eu
cd "$(dirname "$0")"
if [ -x node_modules/.bin/verdaccio ] && [ -f node_modules/tar/package.json ] &&
    [ -x node_modules/.bin/pnpm ] && [ -x node_modules/.bin/yarn ] &&
    [ -f node_modules/yarn1/bin/yarn.js ] &&
    [ -x node_modules/@oven/bun-linux-x64-baseline/bin/bun ] &&
    [ -f node_modules/puppeteer-core/package.json ]; then
	exit 0
fi
npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2
