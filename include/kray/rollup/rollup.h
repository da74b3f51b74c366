// The rollup engine: keeps the state tree in step with the ledger and closes
// batches. Runs on the sequencer thread through state::CommitObserver, inside
// the sequencer's write transactions, so the tree, the batch rows and the
// state they commit to are always committed together (or not at all).
//
// Change tracking: SQLite triggers (schema/002_rollup.sql) record every
// changed account in rollup_dirty and every account creation / key binding
// in rollup_account_events, in the same transaction as the change (so also
// changes made outside a tx, or behind the node's back). Per group the
// observer only orders the new events against the group's txs and checks the
// batch size; the tree is brought up to date from rollup_dirty on every tick
// (about once a second, so the head root lags by <= ~1 s) and always right
// before a batch is closed, so every batch's state root is exact.
//
// Thread-safety: one Rollup per Ledger; its observer methods are called by
// the sequencer only. Reads go through the free functions in batch.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "kray/rollup/batch.h"
#include "kray/rollup/node_store.h"
#include "kray/state/ledger.h"

namespace kray::rollup {

struct RollupOptions {
  std::int64_t batch_interval = 3600;      // seconds (config key batchinterval)
  std::int64_t max_batch_txs = 10000;      // config key maxbatchtxs
  std::size_t max_cached_nodes = 4000000;  // tree cache bound (~150 bytes/node)
};

class Rollup : public state::CommitObserver {
 public:
  explicit Rollup(RollupOptions options);
  ~Rollup() override;

  // Initialises the rollup on the ledger's writer (first run: builds the tree
  // over the current state as version 0, the "genesis root"), then registers
  // itself as the ledger's commit observer. Call once, before serving writes.
  Status Attach(state::Ledger& ledger);

  // Creates rollup_state and the version-0 tree if absent (idempotent).
  Status Init(store::Database& db, std::int64_t now);

  Status OnGroupApplied(store::Database& db, const std::vector<state::TxRecord>& txs,
                        const std::set<std::string>& touched_accounts) override;
  Status OnTick(store::Database& db, std::int64_t now) override;

  // Brings the tree up to date and closes the open batch now if it holds any
  // tx (returns nullopt if it is empty). Inside a write transaction.
  Result<std::optional<BatchHeader>> CloseBatch(store::Database& db, std::int64_t now);

 private:
  Status Sync(store::Database& db, RollupStatus& st);
  RollupOptions opts_;
  std::unique_ptr<SqliteNodeStore> sql_;
  std::unique_ptr<CachedNodeStore> cache_;
};

// Applies pending changes (rollup_dirty accounts and all supply rows) to the
// tree in `nodes`, and records leaf preimages at `version` in
// rollup_leaf_data when `record_leaves`. Shared by the observer and by
// `krayd verify`. Returns the new root.
Result<Hash256> ApplyDirtyToTree(store::Database& db, NodeStore& nodes, std::int64_t version, bool record_leaves);

}  // namespace kray::rollup
