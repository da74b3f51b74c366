// The rollup index: follows the ledger's operation log from its own position
// and keeps the state tree and the batches in its own store,
// <datadir>/rollup.sqlite, as Bitcoin Core's indexes follow the chain
// (docs/ROLLUP.md, "The index").
//
// The ledger publishes each committed group's change set (the operations and
// every changed leaf with its new data); the index collects them on its own
// thread, off the request path (a leaf changed by many groups is applied to
// the tree once), closes batches at group boundaries (when the open batch
// holds maxbatchtxs operations, or batchinterval seconds passed), and
// applies the tree every persist_interval_ms, persists it when enough changes
// wait or they waited long enough (RollupOptions) and at every batch close. After
// an unclean stop it catches up from the log: the operations after its
// position name the leaves they changed, read again from the state store.
// Edits made to the state store behind the node's back are not detected
// here; `krayd verify` replays the log and is the tool for that.
//
// Thread-safety: Open/Close/Sync/CloseBatchNow from any one thread; reads
// (WithReader) from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kray/core/metrics.h"
#include "kray/rollup/batch.h"
#include "kray/state/changes.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"

namespace kray::rollup {

// What one node of the tree cache costs in memory: 121.5-126.8 bytes
// measured (VmRSS over the nodes of trees of 1M-4M random leaves; the
// cache's buckets grow by doubling), rounded up.
inline constexpr std::size_t kCachedTreeNodeBytes = 128;
// Nodes of a tree of a million random leaves: 2,441,922 measured.
inline constexpr std::size_t kTreeNodesPerMillionAccounts = 2440000;
// The default of config key rollupcache: ~8.4 million nodes, a tree of
// ~3.4 million accounts. Only what the tree holds is used (~300 MiB at a
// million accounts).
inline constexpr std::size_t kDefaultRollupCacheMiB = 1024;
constexpr std::size_t CachedTreeNodesFor(std::size_t mib) {
  return mib * (std::size_t{1} << 20) / kCachedTreeNodeBytes;
}

struct RollupOptions {
  std::int64_t batch_interval = 3600;  // seconds (config key batchinterval)
  std::int64_t max_batch_txs = 10000;  // operations (config key maxbatchtxs)
  // The tree cache's bound, in nodes (config key rollupcache, in MiB:
  // CachedTreeNodesFor). A million accounts make ~2.44 million nodes. The
  // cache holds the whole tree while it fits; once the tree outgrows it,
  // the cache is emptied after every write and each update reads its paths
  // back, deriving a depth-12 subtree from its leaves' rows per miss: ~7x
  // the index thread's CPU (docs/BENCHMARKS.md, forty-second and
  // forty-third rounds).
  std::size_t max_cached_nodes = CachedTreeNodesFor(kDefaultRollupCacheMiB);
  // Config key rolluppersistms. What the tree has not written by a batch's
  // close, the close writes: at 1M accounts and 2,000 transfers/s, 250 ms
  // against 1,000 halves the close (mean 0.42-0.49 s against 0.68-1.08 s)
  // for ~4-6 % more CPU per transfer at 100k accounts (docs/BENCHMARKS.md,
  // tenth round).
  std::int64_t persist_interval_ms = 250;
  // What a check writes. The open batch's tree (changed pages, leaf
  // preimages, the head position) is written at a check once the preimages
  // of `persist_min_entries` changed leaves wait, or once the oldest change
  // has waited `persist_max_lag_ms` (config key rolluppersistlagms; 0: at
  // every check). A small tree's changes are then written once per batch,
  // at its close, instead of again at every check (a 2,000-account tree's
  // leaves all change within 250 ms at 10,000 transfers/s), while a large
  // tree's are still written as the batch fills, so that its close stays
  // short. Leaves, not nodes, are counted: the stored pages are those above
  // kRollupDerivedDepth, at most 273 whatever the tree's size, and from
  // 100k accounts on nearly every one changes within a check, so a write
  // costs those pages plus its leaves' rows. Counting the changed nodes as
  // well (until the thirty-fifth round) wrote every page at every check at
  // 100k-1M accounts: the index's CPU per transfer was 44 against 29 µs at
  // 1M accounts and 2,000 transfers/s, 23 against 18 at 100k and 12,000/s
  // (docs/BENCHMARKS.md). A write, the close's included, and the memory held
  // stay bounded by the threshold plus one check's changes.
  std::size_t persist_min_entries = 8192;
  std::int64_t persist_max_lag_ms = 2000;
  // Config key rollupprune: proofs stay available at the newest
  // `prune_keep_batches` closed batches (and the head); the tree's history
  // that only older batches read is deleted by the index thread, in short
  // steps between its other work. 0 keeps every batch since genesis. Each
  // batch at 1M accounts adds ~30-45 MB of history (docs/ROLLUP.md,
  // "Pruning").
  std::int64_t prune_keep_batches = 0;
  std::size_t prune_chunk_rows = 500;  // rows deleted per pruning transaction (>= 1)
  // Config key rolluplowprio (krayd's default: on). The index thread runs
  // at the lowest priority (nice 19; its disk I/O at the default
  // best-effort level): a request-serving thread that wakes gets a core
  // before it. A batch close at a million accounts is tens of milliseconds
  // of CPU on one of two cores; at normal priority the requests it
  // overlapped waited for it (p50 2-3 ms against 0.5 outside: docs/
  // BENCHMARKS.md, forty-seventh round). An unprivileged thread cannot
  // raise its priority again, and at nice 19 it gets little of a core that
  // other programs keep busy: so once the index falls behind (a round of
  // its work running longer than `takeover_after_ms`, or none started for
  // that long beyond the persist_interval_ms a round may wait), a thread at
  // normal priority (`kray-rollup-w`, watching until then) takes the index
  // over for the rest of the run, and says so in the log and /metrics.
  bool low_priority = false;
  std::int64_t takeover_after_ms = 2000;
  // Config key maxbatchleaves (0: no bound). The open batch also closes once
  // it has changed this many leaves, counted as the index writes its tree
  // (every persist_interval_ms at most), so a batch may pass it by what one
  // check writes. The open batch's leaf rows are keyed (version, key), its
  // keys random: once they are hundreds of thousands, each write of the tree
  // inserts all over a range the page cache no longer holds, and the index
  // costs more per transfer the longer the batch stays open (at a million
  // accounts 17 -> 27-30 us after 100 s without a close: docs/
  // BENCHMARKS.md, forty-ninth and fiftieth rounds). At the default
  // maxbatchtxs a batch changes at most ~20,000 leaves: the bound is for
  // an operator who raises maxbatchtxs.
  std::int64_t max_batch_leaves = 100000;
  // The leaves' heads are folded every kFoldHeadsEvery batches (leaf_rows.h)
  // or, after a close, once this many keys wait to be folded, whichever
  // comes first. A fold is one transaction of the index thread (at nice
  // 19): eight batches of ~100,000 leaves each (maxbatchleaves) folded at
  // once took a round of ~1.5 s of CPU at a million accounts and the watch
  // took the index over (docs/BENCHMARKS.md, fiftieth round). Eight
  // batches of the default maxbatchtxs change fewer keys. Not a config key.
  std::size_t fold_heads_at_keys = 200000;
};

class Rollup : public state::ChangeListener {
 public:
  // Opens (or creates) the index next to the ledger's store, checks that it
  // follows this store (same genesis; "rollup_mismatch" otherwise), builds
  // the genesis tree on first run, catches up with operations it has not
  // applied yet, subscribes to the ledger and starts its thread. Call before
  // the ledger accepts writes. A missing index for a store that already has
  // operations is refused ("rollup_missing"): batch roots may already be
  // anchored and cannot be re-decided.
  static Result<std::unique_ptr<Rollup>> Open(state::Ledger& ledger, const RollupOptions& options);
  // Applies what it was given, persists, stops the thread. Destroy the
  // Ledger first: it publishes to the index until its sequencer stops.
  ~Rollup() override;

  void OnGroupCommitted(const std::shared_ptr<const state::GroupChanges>& changes) override;

  // Runs `fn` with a read connection to rollup.sqlite.
  Status WithReader(const std::function<Status(store::Database&)>& fn) const;

  // Batch listeners are called on the index thread, in the order added,
  // after each batch is closed and persisted. A listener must be quick and
  // must not call back into this index (it would wait for itself). Remove a
  // listener that uses the Ledger (e.g. submits an operation) before the
  // Ledger is destroyed: the index outlives it.
  using BatchListener = std::function<void(const BatchHeader&)>;
  int AddBatchListener(BatchListener listener);  // returns a handle for RemoveBatchListener
  void RemoveBatchListener(int handle);          // after it returns, the listener is never called again

  // Waits until every group committed before the call is applied and
  // persisted (tests, tools, shutdown).
  Status Sync();
  // Closes the open batch now if it holds operations (after Sync); returns
  // it, or nullopt when it is empty.
  Result<std::optional<BatchHeader>> CloseBatchNow();

  std::string path() const;
  // Seconds each batch close took on the rollup thread: the tree update of
  // what was not applied yet, the transaction root, and the commit that
  // persists the batch's state root (for /metrics).
  const metrics::Histogram& close_seconds() const;
  // Closes that read their operations back from the state store: only a
  // batch the index did not see whole as groups (open across a restart).
  std::uint64_t closes_read_from_store() const;
  // Nodes in the index thread's tree cache after its last apply or write
  // (bounded by max_cached_nodes once written).
  std::size_t cached_tree_nodes() const;
  // Times the tree cache was emptied because the tree outgrew it (each
  // after a write; none while the tree fits).
  std::uint64_t tree_cache_clears() const;
  std::size_t max_cached_nodes() const;
  // True while the index runs at the lowest priority
  // (RollupOptions::low_priority); false when it was not asked for, the
  // kernel refused it, or a normal thread took the index over.
  bool at_low_priority() const;

  struct Impl;

 private:
  explicit Rollup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The index's schema (schema/rollup/*.sql), applied to rollup.sqlite.
std::span<const store::Migration> RollupMigrations();
// Brings rollup.sqlite to the current schema: the migrations, then the
// conversion of tree nodes to pages (node_store.h) in one transaction.
Status MigrateRollupIndex(store::Database& db);

// Encodes the current data of every given leaf from a state store.
Result<std::vector<state::LeafChange>> EncodeLeaves(store::Database& state_db, const state::ModuleRegistry& registry,
                                                    const std::vector<state::LeafId>& leaves);
// Every leaf of a state store (all registered types), sorted by key.
Result<std::vector<state::LeafChange>> AllLeaves(store::Database& state_db, const state::ModuleRegistry& registry);
// Applies leaf changes to a tree; returns the new root. With `changed_keys`,
// appends the keys whose value changed (SparseMerkleTree::ApplyUpdates).
Result<Hash256> ApplyLeafChanges(NodeStore& nodes, const std::vector<state::LeafChange>& changes,
                                 std::vector<Hash256>* changed_keys = nullptr);

}  // namespace kray::rollup
