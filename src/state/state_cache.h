// Internal: StateCache, the one stackable write-back cache of core state
// (accounts, balances, supply), after Bitcoin Core's CCoinsViewCache. The
// sequencer keeps a root cache over the store for the group; every operation
// runs in a child cache: MergeIntoParent() keeps its changes, dropping the
// child discards them. Only the root reads the store and writes it (Flush).
// Not thread-safe.
#pragma once

#include <array>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/result.h"
#include "kray/state/types.h"
#include "unwritten_rows.h"

namespace kray::store {
class Database;
}

namespace kray::state {

struct AccountRow {
  std::string l1_address;
  std::string pubkey;  // x-only hex or ""
  std::uint64_t nonce = 0;
  std::int64_t created_at = 0;
  Amount gas_spent = 0;  // statistic for /stats, not committed
  // The key was bound since the row was read: Flush() writes its point's y
  // (schema/core/004_key_points.sql).
  bool key_point_due = false;
};
using BalanceRow = std::array<Amount, 3>;  // indexed by Bucket
struct SupplyRow {
  Amount genesis = 0, minted = 0, burned = 0, fee_pool = 0;
};

class StateCache {
 public:
  // A root cache: misses are read from `db`.
  explicit StateCache(store::Database& db);
  // A child cache: misses are read through `parent`.
  explicit StateCache(StateCache& parent);
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  // The account row, or nullopt if the account does not exist.
  Result<std::optional<AccountRow>> FindAccount(std::string_view id);
  // The same row in place, or nullptr: no copy of its strings (up to two
  // allocations and two frees a copy; a transfer read the signer's and
  // the recipient's rows five times). Valid until an entry is erased
  // (Clear, Trim, MergeIntoParent) in this cache or its parents, not
  // moved by insertions: `Slots` is node-based (keep it so). In a child, a
  // pointer to the parent's row does not see MutableAccount()'s copy.
  Result<const AccountRow*> PeekAccount(std::string_view id);
  void PutAccount(std::string_view id, AccountRow row);
  // The row to change in place, or nullptr if the account does not exist:
  // PutAccount() without building a whole row. The first call for an
  // account copies the row into this cache (a child keeps its own version
  // until it merges), later ones return the same; the row is dirty from
  // then on, changed or not. Valid as PeekAccount()'s.
  Result<AccountRow*> MutableAccount(std::string_view id);
  Result<BalanceRow> GetBalance(std::string_view id, std::string_view asset);
  void PutBalance(std::string_view id, std::string_view asset, const BalanceRow& v);
  Result<SupplyRow> GetSupply(std::string_view asset);
  void PutSupply(std::string_view asset, const SupplyRow& v);

  // Root only: fills `out` with the account and every balance row it has
  // (sorted by asset); false if it does not exist. What the account leaf
  // encodes. `out` is the caller's to reuse: its strings keep their
  // capacity from one account to the next (every field is overwritten).
  // An account read through this cache lists its rows with no query; else
  // (its read failed) they are read from the store, so call it after
  // Flush() (the store then agrees with the cache).
  Result<bool> AccountState(std::string_view id, Account& out);
  Result<std::optional<Account>> AccountState(std::string_view id);  // the same, in a new Account

  // Child only: moves this cache's changes into the parent (dirty there).
  void MergeIntoParent();
  // Root only: writes every dirty entry to the store (inside the caller's
  // transaction); entries become clean.
  Status Flush();
  // Root only: the accounts Flush() would write (account or balance rows),
  // each once.
  std::vector<std::string> DirtyAccountIds() const;
  // Forgets everything (after a rolled-back group).
  void Clear();
  // Between groups (after Flush; else a no-op): drops every entry once
  // more than `max` are cached, and says so. What it drops is freed a
  // slice per call.
  bool Trim(std::size_t max);
  // Root only: room for `accounts` accounts without a rehash. A table
  // rehashed while it fills walks every entry each time it doubles: 0.1 s
  // on the sequencer at ~700k entries (docs/BENCHMARKS.md, fortieth
  // round), after every start.
  void Reserve(std::size_t accounts);
  std::size_t size() const { return entries_ + supply_.size(); }

  // Root only: from now on Flush() does not UPDATE rows the store has: it
  // appends their images to the group's redo record and writes them back
  // later, a slice of the key space per group, the whole of it every
  // `sweep_seconds` (unwritten_rows.h). `rows` holds the committed images
  // not written back; a miss reads the store, then takes them from there.
  void EnableWriteBack(UnwrittenRows& rows, double sweep_seconds);
  // Root only, after the COMMIT of what Flush() wrote (before anyone is
  // answered): publishes the group's images, forgets what it wrote back.
  void Committed();
  // Root only, just before that COMMIT: stages the group's images for
  // readers whose snapshot will hold its last operation, `last_seq`.
  void Stage(std::uint64_t last_seq);
  // Root only: the next Flush() writes back every unwritten row.
  void WriteBackAll();
  // Root only: accounts wait for the sweep, records for a sweep's end to
  // delete them, or written-back accounts to be forgotten (an idle node
  // runs the sweep alone; forgetting runs after a commit).
  bool WriteBackDue() const {
    return wb_ && (wb_->queued > 0 || wb_->redo_seq > wb_->deleted_through || wb_->rows->HasRetired());
  }

 private:
  template <class Row>
  struct Entry {
    Row row{};
    bool exists = false;  // a row with this key exists (in the store or created)
    bool in_db = false;   // the store has the row (Flush: UPDATE, else INSERT)
    bool dirty = false;
  };
  using AccountEntry = Entry<AccountRow>;
  using BalanceEntry = Entry<BalanceRow>;
  using SupplyEntry = Entry<SupplyRow>;

  // An account id as a table key: an id of the executor's form ("kray_" +
  // 32 lowercase hex digits) packed into 16 bytes, so a lookup compares it
  // in the entry, with no heap string to chase; any other id kept as
  // written.
  class AccountKey {
   public:
    explicit AccountKey(std::string_view id);
    bool operator==(const AccountKey&) const = default;
    std::size_t Hash() const;
    std::string Id() const;  // the id it was made from

   private:
    std::array<std::uint8_t, 16> packed_{};
    bool is_packed_ = false;
    std::string other_;  // an id not of that form
  };
  struct AccountKeyHash {
    std::size_t operator()(const AccountKey& k) const noexcept { return k.Hash(); }
  };
  struct BalanceSlot {
    std::string asset;
    BalanceEntry entry;
  };
  // Everything cached of one account, in one entry of one table: its row,
  // its balance rows (by asset, in no order), whether those are all it has.
  // Three tables keyed by strings (row, balance by "id|asset", asset list)
  // took three chains of cache misses per account: at a million accounts
  // the sequencer spent ~4 us more per transfer, twice as long in
  // bench/state_cache_bench (docs/BENCHMARKS.md, fifty-second round).
  struct AccountSlot {
    AccountEntry account;
    bool account_read = false;  // `account` holds the row or its absence (read, put or merged)
    // Root: `balances` holds every row the account has (the store's, read
    // with its own row, and any created here); what AccountState lists.
    bool assets_complete = false;
    bool listed_dirty = false;  // in dirty_
    boost::container::small_vector<BalanceSlot, 1> balances;
    BalanceEntry* FindBalance(std::string_view asset);
    // The entry for `asset`, added (not existing, clean) if missing; `added` says so.
    BalanceEntry& BalanceFor(std::string_view asset, bool* added = nullptr);
  };
  using Slots = std::unordered_map<AccountKey, AccountSlot, AccountKeyHash>;
  struct DirtyAccount {
    std::string id;
    AccountSlot* slot;  // a node of slots_: stays put
  };

  Result<const AccountEntry*> LookupAccount(const AccountKey& key, std::string_view id);
  Result<const BalanceEntry*> LookupBalance(const AccountKey& key, std::string_view id, std::string_view asset);
  Result<const SupplyEntry*> LookupSupply(const std::string& asset);
  Result<AccountSlot*> ReadAccount(const AccountKey& key, std::string_view id);
  // The account's slot in this cache, added (empty) if missing.
  AccountSlot& SlotFor(const AccountKey& key);
  void MarkDirty(AccountSlot& slot, std::string_view id);
  Status LoadAssetList(AccountSlot& slot, std::string_view id);
  Status FlushAccount(const std::string& id, AccountEntry& e);
  Status FlushBalance(const std::string& id, const std::string& asset, BalanceEntry& e);
  Status FlushAccountRows();
  Status FlushKeyPoints();
  Status FlushSupply();
  // Write-back: the group's record, then this group's slice of the sweep.
  Status WriteRedoAndSweep();
  Status DeleteRedundantRecords(std::int64_t last_seq);
  // A cached row read from the store, overwritten by its unwritten image
  // (UnwrittenRows::Peek: valid until the next Stage, Settle or EraseRetired).
  const UnwrittenAccount* Unwritten(const std::string& id) const;

  store::Database* db_ = nullptr;  // root only
  StateCache* parent_ = nullptr;   // child only
  Slots slots_;
  std::size_t entries_ = 0;  // account and balance entries in slots_ (Trim's measure)
  std::unordered_map<std::string, SupplyEntry> supply_;
  // Root: accounts with a dirty entry (each once), so Flush() visits only those.
  std::vector<DirtyAccount> dirty_;
  std::vector<std::string> dirty_supply_;
  std::size_t reserved_ = 0;  // Reserve()'s, kept by Trim
  // What Trim dropped and has not freed yet, freed kFreedPerTrim slots (an
  // account and its rows) a call (~2 ms of the sequencer).
  struct Dropped {
    Slots slots;
    std::unordered_map<std::string, SupplyEntry> supply;
  };
  static constexpr std::size_t kFreedPerTrim = 10000;
  void FreeDropped(std::size_t n);
  std::unique_ptr<Dropped> dropped_;

  // Root, with EnableWriteBack: the unwritten rows' bookkeeping. Accounts
  // are swept by key range (kSweepBuckets of them, by the id's first three
  // hex digits), so a sweep writes each page of account_rows once.
  static constexpr std::size_t kSweepBuckets = 4096;
  // Redundant records deleted per group, oldest first: a sweep's ~800 at
  // once (~30 KB each under load) held the sequencer for tens of ms.
  static constexpr std::int64_t kRecordsDeletedPerGroup = 32;
  struct WriteBack {
    UnwrittenRows* rows = nullptr;
    std::chrono::nanoseconds slot{};  // a bucket's share of the sweep's period
    std::chrono::steady_clock::time_point last_slice{};
    std::vector<std::vector<UnwrittenRows::Queued>> buckets;  // unwritten accounts, each once
    std::size_t sweep_pos = 0;                                // the next bucket to write back
    std::int64_t redo_seq = -1;                               // the last record's seq (-1: not read yet)
    // Records up to this seq are redundant once the current sweep ends:
    // every row they hold is written back by then, as new or newer.
    std::int64_t sweep_start = 0;
    std::uint64_t write_back_seq = 0;    // counters row 'write_back_seq': write-backs committed
    std::size_t queued = 0;              // accounts in `buckets`
    std::int64_t redundant_through = 0;  // records up to this seq hold no row not written back
    std::int64_t deleted_through = 0;    // records up to this seq are deleted
    bool all = false;                    // WriteBackAll()
    // This group's, applied by Committed() (nothing of it if it rolls back):
    Bytes record;
    RedoImages pending;
    // Accounts written back: queued ones, and ones only this group changed.
    std::vector<UnwrittenRows::Queued> swept;
    std::vector<std::string> swept_unqueued;
    std::size_t swept_from = 0, swept_count = 0;
    bool sweep_ended = false;
    std::int64_t redundant_from_now = 0;        // the records a sweep it ends makes redundant
    std::int64_t delete_through = 0;            // the records it deletes
    std::int64_t group_seq = 0;                 // its record's seq (0: none)
    std::unordered_set<std::string> bound_now;  // keys bound: their rows written at once
  };
  std::unique_ptr<WriteBack> wb_;
};

}  // namespace kray::state
