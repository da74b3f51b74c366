// Internal: bound account keys, parsed and cached for signature checks on
// the HTTP threads. A key is immutable once bound, so a cached key never goes stale;
// unknown or unbound accounts are not cached. Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kray/crypto/secp256k1.h"

namespace kray::state {

class KeyCache {
 public:
  std::optional<crypto::VerifyingKey> Get(const std::string& account_id) const {
    std::shared_lock lock(mu_);
    auto it = keys_.find(account_id);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const std::string& account_id, const crypto::VerifyingKey& key) {
    std::unique_lock lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();  // bounded; refilled from the store on demand
    keys_.insert_or_assign(account_id, key);
  }

 private:
  static constexpr std::size_t kMaxEntries = 4'000'000;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, crypto::VerifyingKey> keys_;  // guarded by mu_, parsed once
};

}  // namespace kray::state
