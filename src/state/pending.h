// Internal: operations accepted but not yet committed, indexed by hash (so
// GET /api/transaction/:hash finds a queued one without a scan) and by
// arrival (for /api/transaction/pending). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kray/state/operation.h"

namespace kray::state {

class PendingOperations {
 public:
  // Returns a ticket for Remove().
  std::uint64_t Add(const Operation& preview) {
    std::lock_guard lock(mu_);
    std::uint64_t ticket = next_++;
    by_ticket_.emplace(ticket, preview);
    if (!preview.hash.empty()) by_hash_[preview.hash] = ticket;
    return ticket;
  }
  void Remove(std::uint64_t ticket) {
    std::lock_guard lock(mu_);
    auto it = by_ticket_.find(ticket);
    if (it == by_ticket_.end()) return;
    auto h = by_hash_.find(it->second.hash);
    if (h != by_hash_.end() && h->second == ticket) by_hash_.erase(h);
    by_ticket_.erase(it);
  }
  std::optional<Operation> Find(const std::string& hash) const {
    std::lock_guard lock(mu_);
    auto h = by_hash_.find(hash);
    if (h == by_hash_.end()) return std::nullopt;
    return by_ticket_.at(h->second);
  }
  std::vector<Operation> Oldest(std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<Operation> out;
    for (auto it = by_ticket_.begin(); it != by_ticket_.end() && out.size() < limit; ++it) out.push_back(it->second);
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return by_ticket_.size();
  }

 private:
  mutable std::mutex mu_;
  std::uint64_t next_ = 1;                                  // guarded by mu_
  std::map<std::uint64_t, Operation> by_ticket_;            // guarded by mu_
  std::unordered_map<std::string, std::uint64_t> by_hash_;  // guarded by mu_
};

}  // namespace kray::state
