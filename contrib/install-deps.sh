#!/usr/bin/env bash
# Installs krayd's build and test dependencies from Debian bookworm packages.
# dpkg-dev (dpkg-shlibdeps) and file: cpack's .deb with computed Depends.
# systemd: only for `systemd-analyze verify/security` on contrib/krayd.service
# in the package test (~15 MB; installs and works without a running systemd,
# e.g. in a container; nothing is started).
# prometheus: promtool and a real Prometheus for the /metrics test (the
# package's service is not needed; the test starts its own on a free port).
# chromium: the explorer's browser test (driven by playwright-core from npm);
# jq: docs/API.md's bridge examples. Node.js >= 20 and npm run the JavaScript
# tests (the feed's `ws` client, @redocly/cli, playwright-core, clients/js,
# @scure/btc-signer for tests/interop,
# from committed lockfiles); Debian's own nodejs is older, so it is installed
# only when no node/npm is there (e.g. NodeSource's nodejs, which bundles npm
# and conflicts with Debian's npm package).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config ccache curl ca-certificates \
  libboost-dev libsqlite3-dev libsecp256k1-dev libssl-dev libmimalloc-dev \
  nlohmann-json3-dev libsimdjson-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev \
  dpkg-dev file systemd prometheus chromium jq >/dev/null
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
