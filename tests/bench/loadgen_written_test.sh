#!/usr/bin/env bash
# kray-loadgen reports what krayd wrote during the measured phase, per
# request (per item in batch mode), from /proc/<pid>/io: at a million
# accounts the account table's write-back is a third of it (issue 9;
# docs/BENCHMARKS.md, sixty-first round). Every group commits at least one
# WAL frame (a 4 KiB page and its header) and is fsynced, so a transfer's
# share cannot be below a few bytes nor above the whole group's pages; a
# --kill9 run, whose krayd is gone at the clock's end, reports none.
# Usage: loadgen_written_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
if [ ! -r /proc/self/io ]; then
  echo "no /proc/<pid>/io on this kernel: the figures are null by design" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp "$LOADGEN" --accounts=200 --txs=4000 --connections=4 --duration=5 >"$tmp/t.json" 2>"$tmp/t.err"
jq -c '{accepted, krayd_written_bytes_per_request, krayd_storage_written_bytes_per_request}' "$tmp/t.json"
jq -e '.accepted == 4000 and .conservation_ok == true
       and (.krayd_written_bytes_per_request | type == "number" and . > 100 and . < 1000000)
       and (.krayd_storage_written_bytes_per_request | type == "number" and . >= 0)' "$tmp/t.json" >/dev/null
TMPDIR=$tmp "$LOADGEN" --mode=batch --batch=50 --accounts=200 --txs=4000 --connections=2 --duration=5 >"$tmp/b.json" 2>"$tmp/b.err"
jq -c '{items, krayd_written_bytes_per_item}' "$tmp/b.json"
jq -e '.items == 4000 and (.krayd_written_bytes_per_item | type == "number" and . > 10 and . < 1000000)
       and (has("krayd_written_bytes_per_request") | not)' "$tmp/b.json" >/dev/null
TMPDIR=$tmp "$LOADGEN" --kill9 --accounts=200 --txs=4000 --connections=4 --duration=3 >"$tmp/k.json" 2>"$tmp/k.err"
jq -e '.kill9.lost == 0 and (has("krayd_written_bytes_per_request") | not)' "$tmp/k.json" >/dev/null
echo ok
