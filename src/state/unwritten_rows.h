// Internal: the account rows' write-back (schema/core/006_account_redo.sql).
//
// At a million accounts a group's UPDATEs of account rows each land on a
// different B-tree page, a WAL frame and a checkpoint copy each: about half
// of what a million accounts cost over a thousand (docs/BENCHMARKS.md,
// forty-first round). So the sequencer's cache (StateCache) does not UPDATE
// a row the store already has: it appends the row's new image to the
// group's redo record (one row of account_redo, in the group's
// transaction), keeps the row here, and writes rows back in key order, a
// slice of the key space per group, so that a whole sweep writes each page
// once. New rows and key bindings are written at once, as before: the set
// of rows and every bound key are always in account_rows.
//
// What a reader sees:
// - UnwrittenRows holds, in memory, every committed row image not yet
//   written back. A read of one account (Ledger::GetAccount, ListAccounts,
//   GetAccountStats, LoadAccountState inside Ledger::WithReader) reads the
//   store, then takes from here what is newer (FindIn: never older than
//   its snapshot, at most as new as a read a moment later).
// - In any snapshot of the store, account_rows with account_redo applied in
//   seq order is the committed state exactly: CheckConservation, the rollup
//   index catching up and `krayd verify` read the records (ReadRedo) and
//   apply them over their snapshot (RedoScope). ApplyRedo writes them back
//   at open, before anything else reads the store.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/redo.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// The images not yet written back, for readers on any thread.
//
// A group's images are staged before its COMMIT and settled after it. A
// reader inside a snapshot (FindIn) takes a staged group's images if its
// snapshot holds the group's last operation, so a snapshot that shows an
// operation shows its rows. An account written back stays here, its images
// equal to the row's, for kRetireDelay: a reader whose snapshot began
// before the write-back's COMMIT still finds them. A snapshot older than
// that (counters row 'write_back_seq', moved by every write-back, below
// the newest write-back whose accounts were forgotten) is refused with
// `snapshot_stale`, and Ledger::WithReader reads again in a new one. So
// each row a reader gets is never older than its snapshot's, at worst
// newer (a group committed since), as a read a moment later would be.
class UnwrittenRows {
 private:
  struct Entry {
    UnwrittenAccount committed;
    // The staged group's images (in the sequencer's RedoImages, unchanged
    // from Stage to Settle, which resets this under the lock first).
    const UnwrittenAccount* staged = nullptr;
    std::uint64_t staged_seq = 0;
    // Settled commits: a retirement is void once it moves. This and
    // `queued` are the sequencer's alone (readers never read them).
    std::uint64_t generation = 0;
    bool queued = false;  // in the sweep's lists (Settle .. Retire)
  };
  using Node = std::pair<const std::string, Entry>;  // an unordered_map's entry: stays put

 public:
  static constexpr std::chrono::seconds kRetireDelay{2};

  // An account waiting for the sweep, for the sequencer alone: from the
  // Settle that queued it to the Retire that takes it, it is never
  // forgotten, so the sweep and Retire reach it without a lookup.
  class Queued {
   public:
    const std::string& id() const { return node_->first; }
    // Its committed images (as Peek's: valid until the next Stage, Settle
    // or EraseRetired).
    const UnwrittenAccount& images() const { return node_->second.committed; }

   private:
    friend class UnwrittenRows;
    explicit Queued(Node* node) : node_(node) {}
    Node* node_;
  };

  // The committed images, copied under the lock.
  std::optional<UnwrittenAccount> Find(const std::string& account_id) const;
  // The same without a copy, for the sequencer alone (whichever thread
  // holds its turn): the only writer of this table reads it without the
  // lock, as readers only read it. Valid until its next Stage, Settle or
  // EraseRetired.
  const UnwrittenAccount* Peek(const std::string& account_id) const;
  // A reader's: the committed images, and a staged group's if `snapshot`
  // (the reader's open read transaction) holds its last operation.
  Result<std::optional<UnwrittenAccount>> FindIn(const std::string& account_id, store::Database& snapshot) const;

  // Sequencer only. Before the COMMIT of a group whose last operation is
  // `last_seq`: its images, staged. Readers see them through a pointer
  // into `images`, which must stay unchanged until Settle.
  void Stage(const RedoImages& images, std::uint64_t last_seq);
  // After it: committed (`images`, the group's, become committed ones,
  // moved from) or not (the staged ones dropped). Committed, returns the
  // accounts that now wait for the sweep and were not queued for it yet
  // (each is queued until Retire), except those `written_back_now` says it
  // wrote back.
  std::vector<Queued> Settle(RedoImages& images, bool committed,
                             const std::function<bool(std::string_view)>& written_back_now = {});
  // After the COMMIT of write-back number `write_back_seq` (the counters
  // row), which wrote these accounts back (`queued`, and `others` it had
  // not queued): they are no longer queued; each is forgotten kRetireDelay
  // after `now` unless a group committed images of it since.
  void Retire(const std::vector<Queued>& queued, const std::vector<std::string>& others,
              std::chrono::steady_clock::time_point now, std::uint64_t write_back_seq);
  // Forgets the accounts retired kRetireDelay before `now` or earlier.
  void EraseRetired(std::chrono::steady_clock::time_point now);

  std::size_t size() const;
  // Sequencer only: accounts written back and not forgotten yet.
  bool HasRetired() const { return !retired_.empty(); }

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> accounts;  // guarded by mu
  };
  const Shard& ShardOf(const std::string& id) const { return shards_[std::hash<std::string>{}(id) % kShards]; }
  Shard& ShardOf(const std::string& id) { return shards_[std::hash<std::string>{}(id) % kShards]; }
  std::array<Shard, kShards> shards_;
  // A written-back account's entry, to forget unless it moved since. Its
  // entry outlives the record: only the record whose generation is the
  // entry's erases it, and a later record of it needs a later Settle,
  // which moves the generation (an entry of generation 0, the only kind
  // Settle erases, is never retired).
  struct Retired {
    std::chrono::steady_clock::time_point at;
    Node* node = nullptr;
    std::uint64_t generation = 0;
    std::uint64_t write_back_seq = 0;
  };
  void RetireOne(Node* node, std::chrono::steady_clock::time_point now, std::uint64_t write_back_seq);
  std::deque<Retired> retired_;  // the sequencer's
  // The sequencer's: the entries Stage put the images of `staged_from_` in,
  // in its iteration order, so that Settle need not look them up again.
  const RedoImages* staged_from_ = nullptr;
  std::vector<Node*> staged_entries_;
  // The newest write-back whose accounts EraseRetired forgot: a snapshot
  // from before it may miss their rows.
  std::atomic<std::uint64_t> erased_through_{0};
};

// The counters row every write-back moves (unwritten_rows.h, FindIn).
inline constexpr const char* kWriteBackSeqCounter = "write_back_seq";
// Its value in `db` (the caller's snapshot or transaction).
Result<std::uint64_t> ReadWriteBackSeq(store::Database& db);

// A redo record: for each row, u8 kind (1: the account's own row, 2: a
// balance row), u8 length + account id, then for kind 1 u64be nonce, u64be
// gas_spent; for kind 2 u8 length + asset, u64be available, staked, locked.
void AppendOwnImage(Bytes& record, std::string_view account_id, const UnwrittenAccount::Own& own);
void AppendBalanceImage(Bytes& record, std::string_view account_id, std::string_view asset,
                        const std::array<Amount, 3>& row);
// Merges a record's images into `out` (a later record's image wins); with
// `only`, of those accounts alone.
Status DecodeRedo(ByteSpan record, RedoImages& out, const std::set<std::string>* only = nullptr);

// Writes every record's rows into account_rows and deletes the records, in
// one transaction; before anything else reads the store. Returns the
// accounts written back.
Result<std::size_t> ApplyRedo(store::Database& db);
// UPDATEs the account's rows that `images` holds (inside the caller's
// transaction).
Status WriteBackImages(store::Database& db, const std::string& account_id, const UnwrittenAccount& images);

}  // namespace kray::state
