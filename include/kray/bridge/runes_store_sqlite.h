// The runes index's storage in SQLite (the deposit scanner's bridge.sqlite,
// tables runes_tip, runes_entries, runes_balances, runes_undo of
// schema/bridge_scan). Write is atomic: inside a transaction the caller
// already holds (the scanner writes a block's runes and deposits together)
// it runs under a savepoint, otherwise in its own transaction.
//
// Thread-safety: as the Database it uses (one thread at a time).
#pragma once

#include <span>

#include "kray/bridge/runes_store.h"

namespace kray::store {
class Database;
struct Migration;
}  // namespace kray::store

namespace kray::bridge {

// schema/bridge_scan/*.sql: the scanner's tables, runes tables included
// (component "bridge_scan").
std::span<const store::Migration> BridgeScanMigrations();

class SqliteRunesStore final : public RunesStore {
 public:
  // `db` must hold the bridge_scan schema and outlive the store.
  explicit SqliteRunesStore(store::Database& db) : db_(db) {}

  Result<std::optional<IndexedBlock>> Tip() override;
  Result<std::optional<RuneEntry>> Entry(const RuneId& id) override;
  Result<std::vector<RuneEntry>> Entries() override;
  Result<RuneBalances> Balances(const OutPoint& outpoint) override;
  Result<std::vector<std::pair<OutPoint, u128>>> Holders(const RuneId& id) override;
  Result<std::optional<RunesBlockUndo>> Undo(std::uint32_t height) override;
  Status Write(const RunesWriteBatch& batch) override;

 private:
  Status Apply(const RunesWriteBatch& batch);
  store::Database& db_;
};

}  // namespace kray::bridge
