// Internal: operations accepted but not yet committed, indexed by hash (so
// GET /api/transaction/:hash finds a queued one without a scan) and by
// arrival (for /api/transaction/pending). Thread-safe.
//
// The index holds the operation the sequencer applies, not a copy: the
// sequencer fills in what it assigns (seq, timestamp, gas_fee, touched)
// while readers here copy the rest. So what a submitter decided, and the
// hash, must not change once the operation is added (the executor writes
// the hash of unsigned operations only, which Ledger's CheckSubmitted never
// adds).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kray/state/operation.h"

namespace kray::state {

class PendingOperations {
 public:
  // Returns a ticket for Remove(). `op` is signed (see above).
  std::uint64_t Add(std::shared_ptr<const Operation> op) {
    // Read before another thread may write it (the sequencer sets it again).
    const Amount gas_fee = op->gas_fee;
    std::lock_guard lock(mu_);
    std::uint64_t ticket = next_++;
    const std::string_view hash = op->hash;
    by_ticket_.emplace(ticket, Entry{std::move(op), gas_fee});
    if (hash.empty()) return ticket;  // listed, not found by hash (as before)
    // The latest of equal operations is the one found; its key, a view of
    // its own hash, replaces the other's, which may be removed first.
    if (auto [it, added] = by_hash_.try_emplace(hash, ticket); !added) {
      auto node = by_hash_.extract(it);  // re-keyed in place: nothing allocated
      node.key() = hash;
      node.mapped() = ticket;
      by_hash_.insert(std::move(node));
    }
    return ticket;
  }
  void Remove(std::uint64_t ticket) {
    std::shared_ptr<const Operation> last;  // released after the lock
    std::lock_guard lock(mu_);
    auto it = by_ticket_.find(ticket);
    if (it == by_ticket_.end()) return;
    auto h = by_hash_.find(it->second.op->hash);
    if (h != by_hash_.end() && h->second == ticket) by_hash_.erase(h);
    last = std::move(it->second.op);
    by_ticket_.erase(it);
  }
  bool Contains(std::string_view hash) const {
    std::lock_guard lock(mu_);
    return by_hash_.contains(hash);
  }
  // As submitted: seq, timestamp and touched unset.
  std::optional<Operation> Find(std::string_view hash) const {
    Entry found;
    {
      std::lock_guard lock(mu_);
      auto h = by_hash_.find(hash);
      if (h == by_hash_.end()) return std::nullopt;
      found = by_ticket_.at(h->second);
    }
    return AsSubmitted(found);
  }
  std::vector<Operation> Oldest(std::size_t limit) const {
    std::vector<Entry> entries;
    {
      std::lock_guard lock(mu_);
      for (auto it = by_ticket_.begin(); it != by_ticket_.end() && entries.size() < limit; ++it)
        entries.push_back(it->second);
    }
    std::vector<Operation> out;
    out.reserve(entries.size());
    for (const Entry& e : entries) out.push_back(AsSubmitted(e));
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return by_ticket_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<const Operation> op;
    Amount gas_fee = 0;  // as when it was added
  };
  // Only the members no other thread writes while the operation is here.
  static Operation AsSubmitted(const Entry& e) {
    const Operation& op = *e.op;
    Operation out;
    out.type = op.type;
    out.auth = op.auth;
    out.signer = op.signer;
    out.nonce = op.nonce;
    out.scheme = op.scheme;
    out.signature = op.signature;
    out.fields = op.fields;
    out.evidence = op.evidence;
    out.hash = op.hash;
    out.gas_fee = e.gas_fee;
    return out;
  }

  mutable std::mutex mu_;
  std::uint64_t next_ = 1;                                       // guarded by mu_
  std::map<std::uint64_t, Entry> by_ticket_;                     // guarded by mu_
  std::unordered_map<std::string_view, std::uint64_t> by_hash_;  // guarded by mu_; views of the entries' hashes
};

}  // namespace kray::state
