// Internal: Rollup::Impl, shared by rollup.cpp (the index's work: catch-up,
// groups applied, batch closes, persists, pruning, and the public calls) and
// index_thread.cpp (the thread that runs that work at the lowest priority,
// and the watch that takes it over once that thread falls behind). Only
// these two files include it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "arrived_ops.h"
#include "kray/rollup/leaf_rows.h"
#include "kray/rollup/node_store.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"
#include "kray/store/reader_pool.h"
#include "prune.h"

namespace kray::rollup {

inline std::int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct SyncRequest {
  std::promise<Status>* done;
};
struct CloseRequest {
  std::promise<Result<std::optional<BatchHeader>>>* done;
};
using Work = std::variant<std::shared_ptr<const state::GroupChanges>, SyncRequest, CloseRequest>;

struct Rollup::Impl {
  Impl(state::Ledger& l, const RollupOptions& o) : ledger(l), registry(l.registry()), opts(o) {}

  state::Ledger& ledger;
  const state::ModuleRegistry& registry;
  RollupOptions opts;
  // Bounds at round seconds (1 among them) so that "every close under 1 s",
  // issue 9's target, reads straight off the histogram.
  metrics::Histogram close_seconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10}};
  std::string path;

  // Index thread only (after Open).
  std::unique_ptr<store::Database> db;        // rollup.sqlite, writer
  std::unique_ptr<store::Database> state_db;  // krayd.sqlite, read-only
  std::unique_ptr<SqliteNodeStore> sql;
  std::unique_ptr<CachedNodeStore> cache;
  RollupStatus status;                                // the head, ahead of what is persisted while dirty
  std::string prev_root;                              // state root of the last closed batch (or genesis)
  std::map<Hash256, std::optional<Bytes>> leaf_data;  // to persist at the open version
  LeafHeads heads;                                    // the leaves' heads not yet folded (leaf_rows.h)
  // Leaf changes received but not yet applied to the tree (the newest data
  // per leaf), through operation `received_seq`. Applied before any root is
  // read: at persist, batch close and sync.
  std::map<Hash256, state::LeafChange> pending;
  std::int64_t received_seq = 0;
  ArrivedOperations arrived;  // the open batch's operations, for its close
  std::atomic<std::uint64_t> closes_read_from_store{0};
  std::atomic<std::size_t> cached_tree_nodes{0};
  std::atomic<std::uint64_t> tree_cache_clears{0};
  bool dirty = false;
  // When the oldest change not persisted arrived (valid while dirty).
  std::chrono::steady_clock::time_point dirty_since;
  // The last check (PersistIfDue) or persist.
  std::chrono::steady_clock::time_point last_check = std::chrono::steady_clock::now();
  std::optional<Error> failed;  // sticky: the index stops; a restart catches up
  // Pruning's progress through the rows batch `status.oldest_proof_batch`
  // supersedes. Not persisted: it starts over after a restart.
  PruneCursor prune;
  // Guarded by listeners_mu, held while they run so that removal waits.
  std::mutex listeners_mu;
  std::vector<std::pair<int, Rollup::BatchListener>> batch_listeners;
  int next_listener = 1;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Work> queue;  // guarded by mu
  bool stopping = false;   // guarded by mu
  // Committed groups wake the index thread only when there is work that
  // cannot wait for its next persist_interval_ms: a group reaching
  // `wake_at_seq` (the operation that fills the open batch; set by the index
  // thread before it sleeps) or kWakeEveryGroups queued. Waking it for every
  // group cost a futex wake on the writing thread and a context switch per
  // group, while Handle() only notes the group's leaves.
  std::atomic<std::int64_t> wake_at_seq{0};
  std::thread thread;

  // The index's work runs on `thread` at the lowest priority, or, once it
  // fell behind, on `watch_thread` at normal priority
  // (RollupOptions::low_priority); whichever runs it holds run_mu.
  std::mutex run_mu;
  std::condition_variable watch_cv;            // wakes the watch thread at stop (with mu)
  std::atomic<std::int64_t> busy_since_ns{0};  // steady clock: the current round's start; 0 while it waits
  std::atomic<std::int64_t> last_round_ns{0};  // steady clock: the last round's end
  std::atomic<bool> handed_over{false};
  enum PriorityState : int { kStarting, kLow, kNormal };
  std::atomic<int> priority_state{kStarting};
  std::thread watch_thread;

  mutable store::ReaderPool readers{16};

  Status Open();
  void OpenTree(std::int64_t version);
  Status Initialize();
  Status CatchUp();
  // Takes the changes' data (moved into leaf_data: at the genesis, every leaf's).
  Status Apply(std::vector<state::LeafChange> changes, std::int64_t applied_seq);
  Status ApplyPending();
  Status Persist();
  Status PersistIfDue();
  void MarkDirty();
  void TrimCache();
  Result<bool> PruneStep();
  Status WriteProgress();
  Result<std::vector<ArrivedOperation>> BatchOperations(std::int64_t first_seq, std::int64_t last_seq);
  Result<std::optional<BatchHeader>> CloseBatch(std::int64_t now);
  // The open batch has changed max_batch_leaves leaves, as far as written (RollupOptions).
  bool OpenBatchFull() const {
    return opts.max_batch_leaves > 0 &&
           heads.KeysAt(status.open_batch) >= static_cast<std::size_t>(opts.max_batch_leaves);
  }
  Status FoldHeadsIfDue();
  void Run();
  bool RunOnce(bool on_low_thread);
  void Watch();
  bool FallenBehind() const;
  bool WorkQueued() {
    std::lock_guard lock(mu);
    return !queue.empty();
  }
  void Handle(Work& w);
  void Fail(const Error& e);
};

}  // namespace kray::rollup
