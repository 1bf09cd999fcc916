#!/bin/sh
# tests/scan/install.sh: installs the npm packages tests/scan uses into
# tests/scan/node_modules: ajv with ajv-draft-04 and ajv-formats, and the
# official SARIF 2.1.0 JSON schema (draft-04, sarif-2.1.0-rtm.5.json) as
# @microsoft/jest-sarif ships it: fetched at install time, never kept in
# the repository.  Idempotent.
set -eu
cd "$(dirname "$0")"
if [ -f node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json ] &&
    [ -f node_modules/ajv/package.json ] &&
    [ -f node_modules/ajv-formats/package.json ] &&
    [ -f node_modules/ajv-draft-04/package.json ]; then
	exit 0
fi
npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2
