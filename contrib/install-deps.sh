#!/usr/bin/env bash
# Installs krayd's build and test dependencies from Debian bookworm packages.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config ccache curl ca-certificates \
  libboost-dev libsqlite3-dev libsecp256k1-dev libssl-dev \
  nlohmann-json3-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev >/dev/null
