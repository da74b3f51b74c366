// Internal: committed accounts (with their balances) kept in memory for
// readers, so that GET /api/account/:id/balance does not open a read
// transaction and run two queries each time. Thread-safe.
//
// Coherence with the store, without a lock across the SQL read:
// - the thread that applies a group calls BeginWrite() with every account
//   the group wrote just before its COMMIT, and EndWrite() with the same
//   accounts just after it (committed or not), before anyone is answered or
//   any follower hears of it. In between, those accounts are not served from
//   memory, so no reader is served one older than another read of the store
//   (GET /api/transaction/:hash) may already show it;
// - a reader that missed takes a ticket (Find) BEFORE it opens its read
//   snapshot, and Insert() keeps what it read only if no write began or
//   ended on the key's shard since the ticket and none is in flight there. A
//   snapshot older than some commit was taken before that commit's
//   EndWrite(), which moved the shard's epoch past the ticket: a stale
//   account is never kept.
#pragma once

#include <algorithm>
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
  // shard drops one, round robin over its buckets).
  explicit AccountReadCache(std::size_t max_entries)
      : max_per_shard_(std::max<std::size_t>(1, max_entries / kShards)) {}

  // The cached account, or nullopt and a ticket for Insert().
  std::optional<Account> Find(const std::string& account_id, Ticket* ticket) {
    Shard& s = ShardOf(account_id, &ticket->shard);
    std::lock_guard lock(s.mu);
    auto it = s.accounts.find(account_id);
    if (it != s.accounts.end()) return it->second;  // never one being written: BeginWrite erased it
    ticket->epoch = s.epoch;
    return std::nullopt;
  }

  // Keeps `account`, read after Find() gave `ticket`, unless a write began
  // or ended on the shard since, or is in flight there.
  void Insert(const Ticket& ticket, const Account& account) {
    Shard& s = shards_[ticket.shard];
    std::lock_guard lock(s.mu);
    if (s.epoch != ticket.epoch || s.writes_in_flight > 0) return;
    if (s.accounts.size() >= max_per_shard_ && !s.accounts.count(account.account_id)) EvictOne(s);
    s.accounts.insert_or_assign(account.account_id, account);
  }

  // Just before a COMMIT that writes these accounts (repeats allowed), and
  // just after it with the same list, whether it committed or not.
  void BeginWrite(const std::vector<std::string>& account_ids) { Touch(account_ids, +1); }
  void EndWrite(const std::vector<std::string>& account_ids) { Touch(account_ids, -1); }

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::uint64_t epoch = 0;     // guarded by mu: writes that began or ended on it
    int writes_in_flight = 0;    // guarded by mu: BeginWrite()s not yet ended
    std::size_t next_evict = 0;  // guarded by mu: the bucket EvictOne() tries first
    std::unordered_map<std::string, Account> accounts;  // guarded by mu
  };

  Shard& ShardOf(const std::string& account_id, std::size_t* index) {
    *index = std::hash<std::string>{}(account_id) % kShards;
    return shards_[*index];
  }

  // Each shard the list touches: its epoch moved and its in-flight count
  // changed once; the accounts erased.
  void Touch(const std::vector<std::string>& account_ids, int in_flight) {
    std::array<bool, kShards> touched{};
    for (const auto& id : account_ids) {
      std::size_t index = 0;
      Shard& s = ShardOf(id, &index);
      std::lock_guard lock(s.mu);
      if (!touched[index]) {
        ++s.epoch;
        s.writes_in_flight += in_flight;
        touched[index] = true;
      }
      s.accounts.erase(id);
    }
  }

  // Drops the first account of the next non-empty bucket, round robin over
  // the buckets (begin() would mostly drop the newest: libstdc++ links a
  // node that lands in an empty bucket at the front of the list).
  static void EvictOne(Shard& s) {
    const std::size_t buckets = s.accounts.bucket_count();
    for (std::size_t i = 0; i < buckets; ++i) {
      std::size_t b = (s.next_evict + i) % buckets;
      if (s.accounts.bucket_size(b) == 0) continue;
      s.next_evict = b + 1;
      s.accounts.erase(s.accounts.begin(b)->first);
      return;
    }
  }

  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kray::state
