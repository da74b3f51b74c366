#!/usr/bin/env bash
# ctest openapi.redocly_lint: lints the OpenAPI document krayd serves with
# @redocly/cli (recommended-strict: warnings fail too).
#   lint_openapi.sh <openapi_dump binary> <js dir prepared by setup.sh>
set -euo pipefail
dump=$1
js=$2
"$dump" > "$js/openapi.json"
cd "$js"
node node_modules/@redocly/cli/bin/cli.js lint --config redocly.yaml openapi.json
