#!/usr/bin/env bash
# ctest fixture js.setup: installs the npm packages the JavaScript tests use,
# from the committed lockfiles (npm ci), into the build tree, so the source
# tree stays clean and every run starts from exactly the locked versions.
#   setup.sh <source dir> <build dir>
#     <build>/js          tests/js (@redocly/cli, playwright-core) and its tests
#     <build>/clients-js  clients/js (@noble/curves, @noble/hashes) and its tests
set -euo pipefail
src=$1
bin=$2
copy() {  # copy <from> <to>: the directory without node_modules
  rm -rf "$2"
  mkdir -p "$2"
  tar -C "$1" --exclude=node_modules -cf - . | tar -C "$2" -xf -
}
install() {
  (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
}
copy "$src/tests/js" "$bin/js"
install "$bin/js"
copy "$src/clients/js" "$bin/clients-js"
install "$bin/clients-js"
