#!/usr/bin/env bash
# kray-loadgen's open loop (--rate): the node gets the requests at the pace
# asked for, not as fast as it answers, and every one is accepted. Guards the
# paced figures of docs/BENCHMARKS.md (batch closes at a million accounts).
# Also: the requests are split around the batch closes krayd logged, every
# request counted once, and those of the rest that started within 1 s after
# a close are counted apart.
# Usage: loadgen_paced_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
out=$("$LOADGEN" --accounts=200 --txs=1200 --connections=10 --duration=4 --rate=250 --maxbatchtxs=300 2>/dev/null)
echo "$out" | jq -c 'del(.latency_histogram)'
# 4 s at 250/s: ~1,000 transfers whatever the node could take (its closed-
# loop rate here is several thousand per second).
echo "$out" | jq -e '.rate_per_second == 250 and .errors == 0 and .conservation_ok == true
  and .accepted_per_second > 225 and .accepted_per_second < 275
  and .node_total_transactions == .accepted
  and .latency_around_closes.closes >= 2 and .latency_around_closes.closes >= .batch_closes.count
  and .latency_around_closes.during.requests >= 1
  and .latency_around_closes.during.requests + .latency_around_closes.outside.requests == .requests
  and .latency_around_closes.after.requests >= 1
  and .latency_around_closes.after.requests < .latency_around_closes.outside.requests' >/dev/null
