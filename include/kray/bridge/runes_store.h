// Storage of the runes index (runes_index.h), behind a small interface: in
// memory (MemoryRunesStore, tests) or in the deposit scanner's SQLite file
// (SqliteRunesStore, runes_store_sqlite.h). The interface is LevelDB-shaped:
// point reads, plus one atomic Write of a batch of puts and erases. Each kind
// of record is one table (schema/bridge_scan):
//
//   runes_tip       (height, hash)                        -- one row: the last indexed block
//   runes_entries   (rune_block, rune_tx PK, entry BLOB)  -- SerializeRuneEntry
//   runes_balances  (txid, vout, rune_block, rune_tx PK, amount BLOB(16))
//   runes_undo      (height PK, undo BLOB)                -- last N blocks
//
// u128 amounts do not fit SQLite's INTEGER: they are 16-byte big-endian
// BLOBs (byte order = numeric order).
//
// Only runes the index tracks are ever stored (see runes_index.h for why that
// is enough), so the tables stay small.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/transaction.h"
#include "kray/core/amount.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bridge {

using bitcoin::OutPoint;
using bitcoin::RuneId;

// An amount of one rune, in the rune's base unit (ord's u128 "Lot").
struct RuneAmount {
  RuneId id;
  u128 amount = 0;
  friend bool operator==(const RuneAmount&, const RuneAmount&) = default;
};
// The runes one outpoint carries: sorted by id, no zero amounts, no repeats.
using RuneBalances = std::vector<RuneAmount>;

// A rune as ord's RuneEntry records it, limited to what affects balances and
// what the bridge shows.
struct RuneEntry {
  RuneId id;
  bitcoin::Rune rune;
  std::uint32_t spacers = 0;
  std::uint8_t divisibility = 0;
  std::optional<char32_t> symbol;
  u128 premine = 0;
  std::optional<bitcoin::Terms> terms;
  bool turbo = false;
  Hash256 etching_txid{};  // internal byte order
  u128 mints = 0;          // successful mints so far (ord counts cenotaph mints too)
  u128 burned = 0;         // sent to OP_RETURN, burned by cenotaphs, or unallocatable
  friend bool operator==(const RuneEntry&, const RuneEntry&) = default;
};

// One indexed block.
struct IndexedBlock {
  std::uint32_t height = 0;
  Hash256 hash{};
  friend bool operator==(const IndexedBlock&, const IndexedBlock&) = default;
};

// What a block changed, enough to take it back (a reorg).
struct RunesBlockUndo {
  IndexedBlock block;
  Hash256 prev_hash{};  // the block's parent: the tip after undoing it
  // Outpoints spent by the block that existed before it, with their balances.
  std::vector<std::pair<OutPoint, RuneBalances>> spent;
  // Outpoints the block created (and did not spend again).
  std::vector<OutPoint> created;
  // Entries the block changed, as they were before it.
  std::vector<RuneEntry> entries_before;
  // Entries the block created (etchings).
  std::vector<RuneId> entries_created;
  friend bool operator==(const RunesBlockUndo&, const RunesBlockUndo&) = default;
};

// Undo records are stored as opaque blobs (runes_undo.undo): a versioned,
// bounds-checked binary encoding. ParseRunesBlockUndo never throws; errors
// "runes_undo_malformed".
Bytes SerializeRunesBlockUndo(const RunesBlockUndo& undo);
Result<RunesBlockUndo> ParseRunesBlockUndo(ByteSpan data);

// A rune entry as a blob (the undo record's entry encoding). ParseRuneEntry
// never throws; error "runes_entry_malformed".
Bytes SerializeRuneEntry(const RuneEntry& entry);
Result<RuneEntry> ParseRuneEntry(ByteSpan data);

// One atomic change. Applied in this order: tip, entries, balances, undo.
struct RunesWriteBatch {
  bool set_tip = false;
  std::optional<IndexedBlock> tip;  // with set_tip: the new tip (nullopt = nothing indexed)
  std::vector<RuneEntry> put_entries;
  std::vector<RuneId> erase_entries;
  std::vector<std::pair<OutPoint, RuneBalances>> put_balances;
  std::vector<OutPoint> erase_balances;
  std::optional<RunesBlockUndo> put_undo;
  std::vector<std::uint32_t> erase_undo;  // heights
};

// Storage for one runes index. Implementations must make Write atomic (all
// of the batch or none of it) and durable before it returns OK.
// Thread-safety: implementations need not be thread-safe; the index calls
// them from one thread.
class RunesStore {
 public:
  virtual ~RunesStore() = default;

  // The last indexed block; nullopt before the first.
  virtual Result<std::optional<IndexedBlock>> Tip() = 0;
  // The entry of a tracked rune once etched; nullopt otherwise.
  virtual Result<std::optional<RuneEntry>> Entry(const RuneId& id) = 0;
  // Every stored entry, by id.
  virtual Result<std::vector<RuneEntry>> Entries() = 0;
  // The tracked runes an unspent outpoint carries (empty if none).
  virtual Result<RuneBalances> Balances(const OutPoint& outpoint) = 0;
  // Every unspent outpoint holding `id`, by outpoint, with its amount.
  virtual Result<std::vector<std::pair<OutPoint, u128>>> Holders(const RuneId& id) = 0;
  // The undo record of the block at `height`; nullopt if not kept.
  virtual Result<std::optional<RunesBlockUndo>> Undo(std::uint32_t height) = 0;
  // Applies the batch atomically.
  virtual Status Write(const RunesWriteBatch& batch) = 0;
};

// RunesStore in memory (tests, and a node that re-indexes at start). Undo
// records go through SerializeRunesBlockUndo so the SQLite store's encoding
// is exercised by every test.
class MemoryRunesStore final : public RunesStore {
 public:
  Result<std::optional<IndexedBlock>> Tip() override;
  Result<std::optional<RuneEntry>> Entry(const RuneId& id) override;
  Result<std::vector<RuneEntry>> Entries() override;
  Result<RuneBalances> Balances(const OutPoint& outpoint) override;
  Result<std::vector<std::pair<OutPoint, u128>>> Holders(const RuneId& id) override;
  Result<std::optional<RunesBlockUndo>> Undo(std::uint32_t height) override;
  Status Write(const RunesWriteBatch& batch) override;

  // Number of stored outpoints and undo records (tests check pruning).
  std::size_t outpoint_count() const { return balances_.size(); }
  std::size_t undo_count() const { return undo_.size(); }

 private:
  std::optional<IndexedBlock> tip_;
  std::map<RuneId, RuneEntry> entries_;
  std::map<OutPoint, RuneBalances> balances_;
  std::map<std::uint32_t, Bytes> undo_;
};

}  // namespace kray::bridge
