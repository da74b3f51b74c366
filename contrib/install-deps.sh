#!/usr/bin/env bash
# Installs krayd's build and test dependencies from Debian bookworm packages.
# dpkg-dev (dpkg-shlibdeps) and file: cpack's .deb with computed Depends.
# systemd: only for `systemd-analyze verify/security` on contrib/krayd.service
# in the package test (~15 MB; installs and works without a running systemd,
# e.g. in a container; nothing is started).
# chromium: the explorer's browser test (driven by playwright-core from npm);
# jq: docs/API.md's bridge examples. Node.js >= 20 and npm run the JavaScript
# tests (@redocly/cli, playwright-core, clients/js from committed lockfiles);
# Debian's own nodejs is older, so it is installed only when none is there.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config ccache curl ca-certificates \
  libboost-dev libsqlite3-dev libsecp256k1-dev libssl-dev \
  nlohmann-json3-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev \
  dpkg-dev file systemd chromium jq >/dev/null
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
