#!/usr/bin/env bash
# ctest entry for the Node test of the event feed: copies the test to the
# build tree, installs its locked dependencies (`npm ci`: the ws package)
# and runs `node --test`.
#
# Usage: run.sh <krayd> <kray-cli> <source dir> <work dir>
# Without node/npm the test is skipped (exit 77), unless KRAY_REQUIRE_NODE=1
# (set by .ci/run): then it fails.
set -euo pipefail
KRAYD=$1
CLI=$2
SRC=$3
WORK=$4
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "${KRAY_REQUIRE_NODE:-0}" = 1 ]; then
      echo "FAIL: $tool not found (Node.js 18+ and npm); KRAY_REQUIRE_NODE=1" >&2
      exit 1
    fi
    echo "SKIP: $tool not found"
    exit 77
  fi
done
mkdir -p "$WORK"
cp "$SRC/tests/feed-js/package.json" "$SRC/tests/feed-js/package-lock.json" "$SRC/tests/feed-js/feed.test.mjs" "$WORK/"
cd "$WORK"
npm ci --no-audit --no-fund --loglevel=error
KRAYD="$KRAYD" KRAY_CLI="$CLI" KRAY_SOURCE_DIR="$SRC" node --test --test-concurrency=1 feed.test.mjs
