#!/usr/bin/env bash
# ctest entry point for the interop tests: installs the pinned npm
# dependencies (package-lock.json) into a scratch directory in the build tree
# and runs the Node test against the fixture binary. Fails (never skips) when
# node or npm is missing: CI installs them (contrib/install-deps.sh).
set -euo pipefail
fixture="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "interop: node is not installed (contrib/install-deps.sh installs it)" >&2; exit 1; }
command -v npm >/dev/null || { echo "interop: npm is not installed (contrib/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/psbt_interop.mjs" "$work/"
cd "$work"
if ! cmp -s package-lock.json node_modules/.kray-installed-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.kray-installed-lock
fi
node psbt_interop.mjs "$fixture"
