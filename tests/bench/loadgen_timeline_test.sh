#!/usr/bin/env bash
# kray-loadgen --timeline: the run cut into windows by when each answer
# arrived, so a long run shows whether the rate holds as the node stores more
# (issue 9; docs/BENCHMARKS.md, nineteenth round). Every answered request is
# in exactly one window, and the windows cover the run in order. The run
# also reports the sequencer's groups (what they cost, how busy it was).
# Usage: loadgen_timeline_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
out=$("$LOADGEN" --accounts=50 --txs=100000 --connections=4 --duration=3 --timeline=1 2>/dev/null)
echo "$out" | jq -c '{accepted, errors, seconds, timeline}'
# The last window may be the moment after the deadline in which the
# requests then in flight were answered: only the full ones must have work.
echo "$out" | jq -e '.errors == 0 and .conservation_ok == true and .timeline.window_seconds == 1
  and (.timeline.windows | length) == (.seconds | ceil)
  and ([.timeline.windows[].ok] | add) == .accepted
  and ([.timeline.windows[] | .from_s] == [range(0; .timeline.windows | length)])
  and all(.timeline.windows[] | select(.seconds == 1); .ok > 0 and .p50_ms > 0 and .p99_ms >= .p50_ms)
  and .timeline.last_over_first > 0' >/dev/null
# The sequencer's figures over the same run (from /metrics before and after):
# every accepted transfer is one committed operation of those groups, and the
# node may add its own (the validators' record of each closed batch).
echo "$out" | jq -c '.sequencer'
echo "$out" | jq -e '.sequencer as $s | ($s.groups_per_second * .seconds * $s.operations_per_group) as $ops
  | $s.groups_per_second > 0 and $s.operations_per_group >= 1
  and $s.commit_ms_mean > 0 and $s.group_ms_mean >= $s.commit_ms_mean
  and $s.busy_fraction > 0 and $s.busy_fraction <= 1.05
  and $ops > .accepted - 0.5 and $ops < .accepted + 100' >/dev/null
# krayd's CPU by thread name over the same phase: the sequencer is there, and
# the threads together spent no more than the process (/proc ticks of 10 ms
# each: some slack).
echo "$out" | jq -c '.krayd_cpu_us_per_request_by_thread'
echo "$out" | jq -e '.krayd_cpu_us_per_request_by_thread as $t
  | ($t["kray-sequencer"] // 0) > 0 and all($t[]; . >= 1)
  and ([$t[]] | add) <= .krayd_cpu_us_per_request * 1.1 + 15' >/dev/null
if "$LOADGEN" --timeline=0 >/dev/null 2>&1; then
  echo "--timeline=0 was accepted" >&2
  exit 1
fi
