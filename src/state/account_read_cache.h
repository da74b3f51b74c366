// Internal: committed accounts (with their balances) kept in memory for
// readers, so that GET /api/account/:id/balance does not open a read
// transaction and run two queries each time. Thread-safe.
//
// Coherence with the store, without a lock across the SQL read:
// - the thread that applies a group calls Invalidate() with every account
//   the group wrote, after its COMMIT and before anyone is answered or any
//   follower hears of it (so a client that has its receipt reads the new
//   state);
// - a reader that missed takes a ticket (Find) BEFORE it opens its read
//   snapshot, and Insert() keeps what it read only if no Invalidate() touched
//   the key's shard since the ticket. A snapshot older than some commit was
//   therefore taken before that commit's Invalidate(), which moved the
//   shard's epoch past the ticket: a stale account is never kept.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kray/state/types.h"

namespace kray::state {

class AccountReadCache {
 public:
  struct Ticket {
    std::size_t shard = 0;
    std::uint64_t epoch = 0;
  };

  // At most `max_entries` accounts are kept (per shard, its share; a full
  // shard drops an arbitrary entry).
  explicit AccountReadCache(std::size_t max_entries)
      : max_per_shard_(std::max<std::size_t>(1, max_entries / kShards)) {}

  // The cached account, or nullopt and a ticket for Insert().
  std::optional<Account> Find(const std::string& account_id, Ticket* ticket) {
    Shard& s = ShardOf(account_id, &ticket->shard);
    std::lock_guard lock(s.mu);
    auto it = s.accounts.find(account_id);
    if (it != s.accounts.end()) return it->second;
    ticket->epoch = s.epoch;
    return std::nullopt;
  }

  // Keeps `account`, read after Find() gave `ticket`, unless the shard was
  // invalidated since.
  void Insert(const Ticket& ticket, const Account& account) {
    Shard& s = shards_[ticket.shard];
    std::lock_guard lock(s.mu);
    if (s.epoch != ticket.epoch) return;
    if (s.accounts.size() >= max_per_shard_ && !s.accounts.count(account.account_id))
      s.accounts.erase(s.accounts.begin());
    s.accounts.insert_or_assign(account.account_id, account);
  }

  // After a COMMIT that wrote these accounts (any order, repeats allowed).
  void Invalidate(const std::vector<std::string>& account_ids) {
    std::array<bool, kShards> bumped{};
    for (const auto& id : account_ids) {
      std::size_t index = 0;
      Shard& s = ShardOf(id, &index);
      std::lock_guard lock(s.mu);
      if (!bumped[index]) {
        ++s.epoch;
        bumped[index] = true;
      }
      s.accounts.erase(id);
    }
  }

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::uint64_t epoch = 0;                            // guarded by mu: Invalidate() calls that touched it
    std::unordered_map<std::string, Account> accounts;  // guarded by mu
  };
  Shard& ShardOf(const std::string& account_id, std::size_t* index) {
    *index = std::hash<std::string>{}(account_id) % kShards;
    return shards_[*index];
  }

  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kray::state
