// The thread that runs the rollup index's work (rollup_impl.h): at the
// lowest priority (RollupOptions::low_priority), so that a batch close
// leaves the cores to requests, with a watch at normal priority that takes
// the work over once that thread falls behind.
#include <linux/ioprio.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rollup_impl.h"

namespace kray::rollup {

namespace {

// The calling thread at the lowest priority, nice 19, its disk I/O at the
// default best-effort level (from nice 19 the kernel derives its lowest;
// the index's writers at idle I/O priority measured worse:
// docs/BENCHMARKS.md, twenty-first round). Not SCHED_IDLE, though it kept
// closes out of requests' way better: a thread in the idle class that a
// normal one waits for (a lock it holds) runs only on a core no normal
// thread wants, and with three busy loops on the machine requests stalled
// up to 2 s (p99 1.9 s against 17 ms at nice 0 and 19 ms at nice 19:
// docs/BENCHMARKS.md, forty-seventh round).
bool EnterLowestPriority() {
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, 19) != 0) return false;  // per thread on Linux
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)) != 0)
    spdlog::warn("rollup: the index thread's I/O priority could not be set ({}): its I/O runs at the lowest level",
                 std::strerror(errno));
  return true;
}

std::int64_t SteadyNanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Rollup::Impl::Run() {
  pthread_setname_np(pthread_self(), "kray-rollup");
  const bool low = opts.low_priority && EnterLowestPriority();
  if (opts.low_priority && !low)
    spdlog::warn(
        "rollup: the kernel refused the index thread the lowest priority; it runs at normal priority (batch "
        "closes then share the cores with requests as equals)");
  std::unique_lock run(run_mu);
  last_round_ns.store(SteadyNanoseconds());
  priority_state.store(low ? kLow : kNormal);
  while (!handed_over.load() && RunOnce(true)) {
  }
}

// At normal priority, watches the index thread while it runs at the lowest
// priority, and takes the index over once that thread falls behind
// (FallenBehind). The low thread leaves at the end of its round (run_mu):
// until then it gets what little CPU nice 19 gets on busy cores, a bounded
// wait.
void Rollup::Impl::Watch() {
  pthread_setname_np(pthread_self(), "kray-rollup-w");
  {
    std::unique_lock lock(mu);
    for (;;) {
      if (stopping || priority_state.load() == kNormal) return;
      if (priority_state.load() == kLow && FallenBehind()) break;
      watch_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    handed_over.store(true);  // under mu: not between the low thread's look at it and its wait
  }
  cv.notify_all();
  spdlog::warn(
      "rollup: the index thread (lowest priority) fell behind, a round of its work waiting or running "
      "over {} ms: a thread at normal priority runs the index from now on (rolluplowprio=0 starts it so)",
      opts.takeover_after_ms);
  std::unique_lock run(run_mu);
  pthread_setname_np(pthread_self(), "kray-rollup");
  priority_state.store(kNormal);
  while (RunOnce(false)) {
  }
}

// A round runs longer than takeover_after_ms, or none has started for
// takeover_after_ms beyond the persist_interval_ms a round may wait for work
// (the low thread woken, or its timer due, but given no core).
bool Rollup::Impl::FallenBehind() const {
  const std::int64_t now = SteadyNanoseconds();
  const std::int64_t limit = std::chrono::nanoseconds(std::chrono::milliseconds(opts.takeover_after_ms)).count();
  const std::int64_t wait = std::chrono::nanoseconds(std::chrono::milliseconds(opts.persist_interval_ms)).count();
  const std::int64_t busy = busy_since_ns.load();
  return busy != 0 ? now - busy > limit : now - last_round_ns.load() > wait + limit;
}

// One round of the index's loop: waits for work (up to persist_interval_ms),
// handles it, then closes, persists and prunes as due. False once stopped.
// The low thread, once handed over, leaves at once, its work left queued.
bool Rollup::Impl::RunOnce(bool on_low_thread) {
  std::deque<Work> work;
  bool stop = false;
  wake_at_seq.store(status.batched_seq + opts.max_batch_txs);
  {
    std::unique_lock lock(mu);
    const auto leave = [&] { return on_low_thread && handed_over.load(); };
    cv.wait_for(lock, std::chrono::milliseconds(opts.persist_interval_ms),
                [&] { return stopping || leave() || !queue.empty(); });
    if (leave()) return true;
    work.swap(queue);
    stop = stopping;
  }
  busy_since_ns.store(SteadyNanoseconds());
  struct RoundEnd {
    Impl& m;
    ~RoundEnd() {
      m.last_round_ns.store(SteadyNanoseconds());
      m.busy_since_ns.store(0);
    }
  } round_end{*this};
  for (auto& w : work) Handle(w);
  if (failed) return !stop;
  std::int64_t now = WallSeconds();
  Status s = Ok();
  if (now - status.open_since >= opts.batch_interval) {
    if (std::max(status.applied_seq, received_seq) > status.batched_seq) {
      auto closed = CloseBatch(now);
      if (!closed.ok()) s = std::move(closed).error();
    } else {
      status.open_since = now;  // an empty interval produces no batch
      MarkDirty();
    }
  }
  auto since = std::chrono::steady_clock::now() - last_check;
  if (s.ok() && stop) {
    s = Persist();
  } else if (s.ok() && since >= std::chrono::milliseconds(opts.persist_interval_ms)) {
    s = PersistIfDue();
    // Counted as written: a check that wrote the tree may find the batch full.
    if (s.ok() && OpenBatchFull()) {
      auto closed = CloseBatch(WallSeconds());
      if (!closed.ok()) s = std::move(closed).error();
    }
  }
  // Pruning, in short steps for up to ~50 ms, while no other work waits.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50); s.ok() && !stop;) {
    auto pruned = PruneStep();
    if (!pruned.ok()) s = std::move(pruned).error();
    if (!pruned.ok() || !*pruned || std::chrono::steady_clock::now() >= until || WorkQueued()) break;
  }
  if (!s.ok()) Fail(s.error());
  return !stop;
}

}  // namespace kray::rollup
