#!/usr/bin/env bash
# kray-loadgen --floorevery: the one-connection run measures the floor
# (fsync + verification) between slices of its own transfers, with krayd
# stopped meanwhile and continued after, and reports both figures from the
# same run. Guards the one-connection row of docs/BENCHMARKS.md.
# Usage: loadgen_floor_slices_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
out=$("$LOADGEN" --accounts=50 --txs=100000 --connections=1 --duration=6 --floorevery=500 2>/dev/null)
echo "$out" | jq -c '{accepted, errors, conservation_ok, latency_ms, interleaved_floor}'
# ~6 s in slices of 0.5 s: up to 11 floor slices (fewer on a busy disk, where
# each takes longer), each followed by more accepted transfers (krayd
# continued), the figures consistent with the run's own.
echo "$out" | jq -e '.errors == 0 and .conservation_ok == true and .node_total_transactions == .accepted
  and .interleaved_floor.slices >= 3 and .interleaved_floor.failed_slices == 0
  and .interleaved_floor.krayd_exited == false and .krayd_exit_code == 0
  and .accepted > 10 * .interleaved_floor.slices
  and .interleaved_floor.fsync_ms_p50 > 0 and .interleaved_floor.verify_ms_p50 > 0
  and .interleaved_floor.floor_ms == .interleaved_floor.fsync_ms_p50 + .interleaved_floor.verify_ms_p50
  and .interleaved_floor.one_connection_p50_ms == .latency_ms.p50
  and .interleaved_floor.p50_over_floor > 0 and .interleaved_floor.slice_p50_over_floor_median > 0
  and .interleaved_floor.seconds > 0 and .interleaved_floor.seconds < .seconds' >/dev/null
# Only for one connection, closed loop: more connections would have requests
# in flight while krayd is stopped.
if err=$("$LOADGEN" --connections=2 --floorevery=500 2>&1 >/dev/null); then
  echo "--floorevery with two connections was accepted" >&2
  exit 1
fi
echo "$err" | grep -q -- "--floorevery needs --mode=transfer --connections=1"
