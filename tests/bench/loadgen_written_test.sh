#!/usr/bin/env bash
# kray-loadgen reports what krayd wrote during the measured phase, per
# request (per item in batch mode), from /proc/<pid>/io: issue 9's measure
# of what storing a transfer costs apart from the CPU (docs/BENCHMARKS.md,
# sixty-first round). Every group commits at least one WAL frame (a 4 KiB
# page and its header) and is fsynced, so a transfer's share is at least
# ~1 kB with four connections; a --kill9 run, whose krayd is gone at the
# clock's end, reports neither figure. The transfer run also reports how
# much of krayd's memory is on transparent huge pages (sixty-second round).
# Usage: loadgen_written_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
if [ ! -r /proc/self/io ]; then
  echo "skipped: no /proc/<pid>/io on this kernel (the figures are null there)" >&2
  exit 77
fi
tmp=$(mktemp -d)
trap 'status=$?; [ $status -ne 0 ] && cat "$tmp"/*.err >&2 2>/dev/null; rm -rf "$tmp"' EXIT
# --duration is a cap: a run ends when its transfers are used up.
TMPDIR=$tmp "$LOADGEN" --accounts=200 --txs=4000 --connections=4 --duration=60 >"$tmp/t.json" 2>"$tmp/t.err"
jq -c '{accepted, krayd_written_bytes_per_request, krayd_storage_written_bytes_per_request, krayd_huge_pages_mib}' "$tmp/t.json"
# How much of krayd's memory is on transparent huge pages: a number, or
# null where /proc/<pid>/smaps_rollup is missing.
jq -e '.krayd_huge_pages_mib | type == "null" or (type == "number" and . >= 0)' "$tmp/t.json" >/dev/null
# Storage: >= 0, as pages dirtied on tmpfs are not charged.
jq -e '.accepted == 4000 and .conservation_ok == true
       and (.krayd_written_bytes_per_request | type == "number" and . > 100 and . < 1000000)
       and (.krayd_storage_written_bytes_per_request | type == "number" and . >= 0)' "$tmp/t.json" >/dev/null
TMPDIR=$tmp "$LOADGEN" --mode=batch --batch=50 --accounts=200 --txs=4000 --connections=2 --duration=60 >"$tmp/b.json" 2>"$tmp/b.err"
jq -c '{items, krayd_written_bytes_per_item, krayd_storage_written_bytes_per_item}' "$tmp/b.json"
jq -e '.items == 4000 and (.krayd_written_bytes_per_item | type == "number" and . > 10 and . < 1000000)
       and (.krayd_storage_written_bytes_per_item | type == "number" and . >= 0)
       and (has("krayd_written_bytes_per_request") | not)' "$tmp/b.json" >/dev/null
TMPDIR=$tmp "$LOADGEN" --kill9 --accounts=200 --txs=4000 --connections=4 --duration=3 >"$tmp/k.json" 2>"$tmp/k.err"
jq -e '.kill9.lost == 0
       and ([has("krayd_written_bytes_per_request"), has("krayd_storage_written_bytes_per_request")] | any | not)' \
  "$tmp/k.json" >/dev/null
echo ok
