#!/usr/bin/env bash
# bench/cost_curve.sh [build-dir]: the measurement matrix of issue 9, one
# kray-loadgen run per cell (~10 s measured each), printed as Markdown tables
# with the exact commands that produced them:
#
#   * the floor: pwrite(4 KiB)+fdatasync and one BIP-340 verification, just
#     before and just after the 1-connection run, and within it, between
#     1-s slices of its transfers (--floorevery; the fsync moves 2-3 x from
#     one minute to the next, so only the interleaved figure compares);
#   * signed transfers at 1, 10, 50 and 200 connections (2,000 accounts);
#   * 50 connections at 1k, 100k and 1M funded accounts, each run until
#     every account has sent a transfer, with what each costs
#     before the clock (keys, genesis, krayd start-up) and krayd's RSS; and
#     at 1M accounts with the transfers among 1k of them (--active): what
#     storing the accounts costs apart from touching each of them; and at
#     1M accounts once every account has sent one transfer (--warmup, not
#     measured): the second pass over them, what a running node does, which
#     the first pass (every account read for the first time, as after a
#     restart) does not show; krayd's CPU per transfer by thread for these
#     runs, the bytes it wrote per transfer, and how busy its sequencer was
#     (the serial stage: its groups' time, size and COMMIT);
#   * POST /api/transaction/batch (500 transfers per request) at 10 and at
#     50 connections;
#   * balance reads (GET /api/account/<id>/balance) at 50 connections, in the
#     same run as the rest: this machine's speed drifts from hour to hour,
#     so only figures of one run compare;
#   * one --kill9 run (every acknowledged transfer must survive a SIGKILL);
#   * batch closes at the largest account count under a paced load the
#     machine can carry (--rate, 2,000 transfers/s: a batch of 10,000 every
#     5 s), next to the same load with no batch closing during the run
#     (--maxbatchtxs past the run's transfers, --maxbatchleaves=0): how long
#     a close takes to persist its root when its thread is not starved by a
#     saturating load,
#     and what closes add to requests' latency (also within the run with
#     closes: the requests that overlapped one against the rest);
#   * one long run at 50 connections (2,000 accounts, LONG_DURATION s,
#     default 120: ~1 million transfers stored), cut into 10-s windows
#     (--timeline=10): whether the rate holds as the node stores more, which
#     the 10-s runs, each from an empty datadir, do not show.
#
# Needs jq and a build with kray-loadgen and krayd
# (cmake --build <build-dir> --target kray-loadgen krayd, or run it as
# `cmake --build <build-dir> --target cost-curve`). Takes 20-30 minutes (each
# million-account run: ~1 min deriving keys and presigning and ~1.3-1.5 min
# of krayd start-up; the second pass's run, its ~2-min warm-up included,
# ~4.5 min);
# not part of ctest. On a shared
# machine run it under `nice` and read the CPU-per-transfer columns next to
# the rates.
#
# Environment: CLOSE_RATE=<n> (default 2000) and CLOSE_DURATION=<s> (default
# 120: ~23 closes, ~2,000 requests overlapping one; in 40 s, ~7 closes and
# ~450 requests, whose p99 is their fifth slowest, swung from +1 to +12 ms
# between runs: docs/BENCHMARKS.md, forty-seventh round) set the paced runs; DURATION=<s> (default 10), TXS=<n> (pre-signed transfers per
# run, default 100000) and ACCOUNTS="<n> ..." (default "1000 100000 1000000")
# shrink it for a quick check of the script; ACTIVE=<n> (default 1000) the
# active accounts of the --active run, made only if the largest count is
# larger; KRAYD=<path> runs another krayd
# (an A/B against an older build); LONG_DURATION=<s> sets the long run. The
# JSON of every run is kept in the directory printed at the end. Exit code 1
# if a run failed (its cell says why), 2 if the kill -9 run lost an
# acknowledged transfer.
set -u

BUILD=${1:-build}
LOADGEN=$BUILD/bench/kray-loadgen
KRAYD=${KRAYD:-$BUILD/src/app/krayd}
DURATION=${DURATION:-10}
command -v jq >/dev/null || { echo "error: cost_curve.sh needs jq" >&2; exit 1; }
for f in "$LOADGEN" "$KRAYD"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build $BUILD --target kray-loadgen krayd)" >&2; exit 1; }
done
OUT=$(mktemp -d "${TMPDIR:-/tmp}/kray-cost-curve-XXXXXX")
COMMANDS=()
STATUS=0

# run <name> <loadgen args...>: one run, its JSON in $OUT/<name>.json.
run() {
  local name=$1 t0=$SECONDS rc
  shift
  local cmd=("$LOADGEN" "--krayd=$KRAYD" "$@")
  COMMANDS+=("${cmd[*]}")
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" >"$OUT/$name.json" 2>"$OUT/$name.err"
  rc=$?
  echo "  $name: $((SECONDS - t0)) s, exit $rc" >&2
  if [ $rc -eq 2 ]; then STATUS=2; elif [ $rc -ne 0 ] && [ $STATUS -eq 0 ]; then STATUS=1; fi
}

# jq over one run's JSON; prints "failed: <why>" if the run has no figures.
JQDEFS='def r1: if type == "number" then (. * 10 + 0.5 | floor) / 10 else "–" end;
        def r0: if type == "number" then (. + 0.5 | floor) else "–" end;
        def r2: if type == "number" then (. * 100 + 0.5 | floor) / 100 else "–" end;
        def r3: if type == "number" then (. * 1000 + 0.5 | floor) / 1000 else "–" end;'
q() {
  local name=$1 filter=$2 f=$OUT/$1.json
  if ! jq -e . "$f" >/dev/null 2>&1; then
    echo "failed: no JSON (see $OUT/$name.err)"
  elif jq -e 'has("error")' "$f" >/dev/null; then
    jq -r '"failed: " + (.error | split("\n")[0])' "$f"
  else
    jq -r "$JQDEFS $filter" "$f"
  fi
}

# One row of the throughput table.
row() {
  local label=$1 name=$2
  local cells
  cells=$(q "$name" '(if .mode == "batch" then .krayd_cpu_us_per_item else .krayd_cpu_us_per_request end) as $kc
    | (if .mode == "batch" then .loadgen_cpu_us_per_item else .loadgen_cpu_us_per_request end) as $lc
    | "\(.connections) | \(.accounts) | \(.accepted_per_second | r0) | \(.latency_ms.p50 | r1) | \(.latency_ms.p99 | r1)"
      + " | \(.errors) | \($kc | r0) | \($lc | r0) | \(.startup_seconds | r1) | \(.krayd_rss_mib | r0)"')
  echo "| $label | $cells |"
}

# One row of the per-thread table.
thread_row() {
  local label=$1 name=$2
  local cells
  cells=$(q "$name" '.krayd_cpu_us_per_request_by_thread as $t
    | ([$t | to_entries[] | select(.key | startswith("kray-") | not) | .value] | add) as $http
    | "\($http | r1) | \($t["kray-sequencer"] | r1) | \($t["kray-rollup"] | r1)"
      + " | \($t["kray-checkpoint"] | r1) | \($t["kray-history"] | r1)"
      + " | \(if .krayd_written_bytes_per_request == null then null else .krayd_written_bytes_per_request / 1000 end | r1)"
      + " | \(.sequencer.busy_fraction | r2) | \(.sequencer.operations_per_group | r1)"
      + " | \(.sequencer.group_ms_mean | r2) (\(.sequencer.commit_ms_mean | r2))"')
  echo "| $label | $cells |"
}

# One row of the before-the-clock table (genesis and start-up).
startup_row() {
  local label=$1 name=$2 f=$OUT/$2.json
  local cells
  cells=$(jq -r "$JQDEFS"' "\(.keys_seconds | r1) | \(.genesis_seconds | r1) | \((.genesis_bytes // 0) / 1048576 | r1)"
    + " | \(.presign_seconds | r1) | \(.startup_seconds | r1) | \(.krayd_rss_mib | r0)"
    + " | \(if has("error") then .error | split("\n")[0] else "ok" end)"' "$f" 2>/dev/null ||
    echo "failed: no JSON (see $OUT/$name.err)")
  echo "| $label | $cells |"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +'%Y-%m-%d %H:%M UTC')
T0=$SECONDS
TXS=${TXS:-100000}
ACCOUNTS=${ACCOUNTS:-1000 100000 1000000}
run floor --mode=floor --iterations=200
run conns1 --accounts=2000 --txs=$((TXS * 3 / 10)) --connections=1 --duration="$DURATION" --floorevery=1000
run floor_after --mode=floor --iterations=200
for c in 10 50 200; do
  run "conns$c" --accounts=2000 --txs=$TXS --connections=$c --duration="$DURATION"
done
# Each account-count run lasts until every account has sent one transfer
# (transfer j goes from account j mod N to the next one): at a million
# accounts 100,000 transfers touch a tenth of them and measured 0.90 of the
# 1k rate, runs touching ~45 % of them 0.73-0.76 (docs/BENCHMARKS.md,
# fifty-fifth round), and touching accounts is what bends the curve
# (forty-sixth round). The time cap leaves room for 5,000/s, a slow hour's.
for a in $ACCOUNTS; do
  txs=$((a > TXS ? a : TXS))
  dur=$((txs / 5000 > DURATION ? txs / 5000 : DURATION))
  run "accounts$a" --accounts=$a --txs=$txs --connections=50 --duration="$dur"
done
CLOSE_ACCOUNTS=${ACCOUNTS##* }
ACTIVE=${ACTIVE:-1000}
ACTIVE_RUN=""
if [ "$CLOSE_ACCOUNTS" -gt "$ACTIVE" ]; then
  ACTIVE_RUN=active$CLOSE_ACCOUNTS
  run "$ACTIVE_RUN" --accounts="$CLOSE_ACCOUNTS" --active="$ACTIVE" --txs=$TXS --connections=50 --duration="$DURATION"
fi
# The second pass: the first $CLOSE_ACCOUNTS transfers (every account once) before
# the clock, then twice the other runs' duration (docs/BENCHMARKS.md,
# fifty-ninth round: the two passes differed by what the node holds), with
# room for 15,000/s on average at the defaults (TXS=100000, DURATION=10): a
# connection that runs out of transfers before the clock stops lowers the
# rate (sixtieth round: 90-96 % of 2 * TXS used).
SECOND_RUN=second$CLOSE_ACCOUNTS
run "$SECOND_RUN" --accounts="$CLOSE_ACCOUNTS" --warmup="$CLOSE_ACCOUNTS" --txs=$((CLOSE_ACCOUNTS + 3 * TXS)) \
  --connections=50 --duration=$((2 * DURATION))
run batch500 --mode=batch --batch=500 --accounts=2000 --txs=$((2 * TXS)) --connections=10 --duration="$DURATION"
run batch500c50 --mode=batch --batch=500 --accounts=2000 --txs=$((2 * TXS)) --connections=50 --duration="$DURATION"
run balance50 --mode=balance --accounts=2000 --connections=50 --duration="$DURATION"
run kill9 --kill9 --accounts=2000 --txs=$TXS --connections=50 --duration="$DURATION"
CLOSE_RATE=${CLOSE_RATE:-2000}
CLOSE_DURATION=${CLOSE_DURATION:-120}
run paced_closes --accounts="$CLOSE_ACCOUNTS" --txs=$((CLOSE_RATE * CLOSE_DURATION)) --connections=50 \
  --duration="$CLOSE_DURATION" --rate="$CLOSE_RATE"
run paced_no_closes --accounts="$CLOSE_ACCOUNTS" --txs=$((CLOSE_RATE * CLOSE_DURATION)) --connections=50 \
  --duration="$CLOSE_DURATION" --rate="$CLOSE_RATE" --maxbatchtxs=100000000 --maxbatchleaves=0
LONG_DURATION=${LONG_DURATION:-120}
run long --accounts=2000 --txs=$((LONG_DURATION * 12500)) --connections=50 --duration="$LONG_DURATION" --timeline=10
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "## Cost curve ($STARTED, $(nproc) cores, commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER (the load generator shares the machine's cores)."
echo "Signed legacy transfers, synchronous=FULL, one ~${DURATION} s run per row (the rows by number of accounts, bar"
echo "the one with $ACTIVE active and the second pass: until every account has sent one transfer; the second pass:"
echo "~$((2 * DURATION)) s measured after every account had sent one, which took $(q "$SECOND_RUN" '.warmup.seconds | r1') s"
echo "with $(q "$SECOND_RUN" '.warmup.errors') errors); CPU columns: µs per transfer"
echo "(per transfer of the batches in the batch row, per read in the balance-read row);"
echo "the kill -9 run's errors are the requests in flight when krayd was killed."
echo
echo "| run | connections | accounts | accepted/s | p50 ms | p99 ms | errors | krayd CPU µs | loadgen CPU µs | start-up s | krayd RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for c in 1 10 50 200; do row "$c conns" "conns$c"; done
for a in $ACCOUNTS; do row "$a accounts" "accounts$a"; done
[ -n "$ACTIVE_RUN" ] && row "$CLOSE_ACCOUNTS accounts, $ACTIVE active" "$ACTIVE_RUN"
row "$CLOSE_ACCOUNTS accounts, second pass" "$SECOND_RUN"
row "batch of 500" batch500
row "batch of 500" batch500c50
row "balance reads" balance50
row "kill -9 run" kill9
echo
echo "### Before the clock: keys, genesis, krayd start-up (50 connections)"
echo
echo "| accounts | keys s | genesis write s | genesis MiB | presign s | krayd start-up s | krayd RSS MiB | krayd |"
echo "|---|---|---|---|---|---|---|---|"
for a in $ACCOUNTS; do startup_row "$a" "accounts$a"; done
echo
echo "### krayd's CPU per transfer by thread (µs; HTTP: the threads without a kray- name) and the kB it wrote per transfer"
echo
echo "(kB per transfer krayd passed to write calls, /proc/<pid>/io wchar: its stores' WAL frames and checkpoint copies, its log;"
echo "the sequencer's groups from /metrics: busy = their time over the run's, a group = execute + COMMIT, its COMMIT = WAL write + fsync)"
echo
echo "| run | HTTP | sequencer | rollup | checkpoints | history | kB written | sequencer busy | operations a group | group ms (commit ms) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for a in $ACCOUNTS; do thread_row "$a accounts" "accounts$a"; done
[ -n "$ACTIVE_RUN" ] && thread_row "$CLOSE_ACCOUNTS accounts, $ACTIVE active" "$ACTIVE_RUN"
thread_row "$CLOSE_ACCOUNTS accounts, second pass" "$SECOND_RUN"
echo
echo "### Floor (one connection's p50 target: ≤ 1.5 × floor)"
echo
echo "Measured just before and just after the 1-connection run, and within it between 1-s slices of its transfers"
echo "(krayd stopped meanwhile; the disk is shared: the fsync figure moves with what others write, so the"
echo "interleaved row is the one that compares). floor = pwrite 4 KiB + fdatasync over a written block + one"
echo "verification. The interleaved row's last column is also given per slice: the median over slices of"
echo "(that slice's p50 / the floor measured right after it): $(q conns1 '.interleaved_floor.slice_p50_over_floor_median | r1') ×."
echo
echo "| floor measured | pwrite 4 KiB + fdatasync p50 ms | same, appending, p50 ms | BIP-340 verify p50 ms | floor ms | 1 connection p50 ms | p50 / floor |"
echo "|---|---|---|---|---|---|---|"
for f in floor floor_after; do
  FLOOR=$(jq -r '.floor_ms // empty' "$OUT/$f.json" 2>/dev/null)
  P50=$(jq -r '.latency_ms.p50 // empty' "$OUT/conns1.json" 2>/dev/null)
  if [ -n "$FLOOR" ] && [ -n "$P50" ]; then
    ONE=$(jq -n "$JQDEFS $P50 | r3") RATIO=$(jq -n "$JQDEFS $P50 / $FLOOR | r1")
  else
    ONE="–" RATIO="–"
  fi
  WHEN=$([ $f = floor ] && echo before || echo after)
  echo "| $WHEN | $(q $f '"\(.fsync_ms_p50 | r3) | \(.fsync_append_ms_p50 | r3) | \(.verify_ms_p50 | r3) | \(.floor_ms | r3)"') | $ONE | $RATIO |"
done
echo "| interleaved, $(q conns1 '.interleaved_floor.slices') slices | $(q conns1 '.interleaved_floor as $f
  | "\($f.fsync_ms_p50 | r3) | – | \($f.verify_ms_p50 | r3) | \($f.floor_ms | r3)"
    + " | \($f.one_connection_p50_ms | r3) | \($f.p50_over_floor | r1)"') |"
echo
echo "### kill -9 (SIGKILL at 70% of the run, restart on the same datadir)"
echo
echo "| acknowledged | found | lost | check errors | node total after restart | restart s | conservation |"
echo "|---|---|---|---|---|---|---|"
echo "| $(q kill9 '"\(.kill9.acknowledged) | \(.kill9.found) | \(.kill9.lost) | \(.kill9.check_errors) | \(.kill9.node_total_after_restart) | \(.kill9.restart_seconds | r1) | \(.conservation_ok)"') |"
echo
echo "### Batch closes ($CLOSE_ACCOUNTS accounts; close = from its start on the rollup thread to its root persisted)"
echo
echo "Paced runs: $CLOSE_RATE transfers/s for $CLOSE_DURATION s over 50 connections, latency from each request's"
echo "scheduled start; the second run's batch size is past its transfers, so no batch closes during it."
echo "The closed-loop row is the 50-connection run at $CLOSE_ACCOUNTS accounts above (a saturating load, until every"
echo "account has sent one transfer: more closes than in the curves before the fifty-fifth round's 10-s run)."
echo
echo "| run | accepted/s | closes | close mean s | slowest close ≤ s | p50 ms | p99 ms | max ms | krayd CPU µs |"
echo "|---|---|---|---|---|---|---|---|---|"
close_row() {
  echo "| $1 | $(q "$2" '"\(.accepted_per_second | r0) | \(.batch_closes.count // 0) | \(.batch_closes.mean_seconds | r3)"
    + " | \(.batch_closes.slowest_at_most_seconds | r3) | \(.latency_ms.p50 | r1) | \(.latency_ms.p99 | r1)"
    + " | \(.latency_ms.max | r1) | \(.krayd_cpu_us_per_request | r0)"') |"
}
close_row "closed loop, 50 connections" "accounts$CLOSE_ACCOUNTS"
close_row "paced, batches of 10,000" paced_closes
close_row "paced, no batch closes" paced_no_closes
echo
echo "The paced run with closes, its requests split in two: those whose time (scheduled start to answer)"
echo "overlapped a close as krayd logged it, and the rest. Same run, so the machine's drift is out of it."
echo "Of the rest, those that started within 1 s after a close ended (while what a close leaves behind"
echo "runs: leaf heads folded, pruning, the index's WAL checkpointed) in the last three columns."
echo
echo "| closes | requests during | p50 ms | p99 ms | max ms | requests outside | p50 ms | p99 ms | max ms | p99 during − outside ms | requests ≤ 1 s after | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
echo "| $(q paced_closes '.latency_around_closes as $a | "\($a.closes) | \($a.during.requests) | \($a.during.p50_ms | r1)"
  + " | \($a.during.p99_ms | r1) | \($a.during.max_ms | r1) | \($a.outside.requests) | \($a.outside.p50_ms | r1)"
  + " | \($a.outside.p99_ms | r1) | \($a.outside.max_ms | r1) | \($a.during.p99_ms - $a.outside.p99_ms | r1)"
  + " | \($a.after.requests) | \($a.after.p50_ms | r1) | \($a.after.p99_ms | r1)"') |"
echo
echo "### As the node stores more (2000 accounts, 50 connections, one $LONG_DURATION-s run in 10-s windows)"
echo
echo "The same load for the whole run, so a rate that falls is a cost growing with the transactions stored"
echo "(the run stores $(q long '.accepted') transfers; the last full window's rate over the first's:"
echo "$(q long '.timeline.last_over_first | r3'))."
echo
echo "| window from s | transfers/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
q long '.timeline.windows[] | select(.seconds == 10) | "| \(.from_s | r0) | \(.ok_per_second | r0) | \(.p50_ms | r1) | \(.p99_ms | r1) |"'
echo
echo "Commands ($((SECONDS - T0)) s in all; JSON of every run in $OUT):"
echo
echo '```'
for c in "${COMMANDS[@]}"; do echo "$c"; done
echo '```'
exit $STATUS
