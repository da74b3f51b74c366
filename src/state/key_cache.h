// Internal: bound account keys, parsed and cached for signature checks on
// the HTTP threads. A key is immutable once bound, so a cached key never goes stale;
// unknown or unbound accounts are not cached. Filled on demand and, at
// start-up, by Ledger::Impl::PreloadKeys: parsed from their stored points
// (schema/core/004_key_points.sql), or as bytes where no point is stored.
// Thread-safe.
#pragma once

#include <algorithm>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "kray/crypto/secp256k1.h"

namespace kray::state {

class KeyCache {
 public:
  // Parsed, or the stored bytes until first used.
  using Entry = std::variant<crypto::XOnlyPubKey, crypto::VerifyingKey>;

  // The parsed key; a preloaded key is parsed here on its first use (nullopt,
  // and forgotten, if it does not parse: the caller's store read reports it).
  std::optional<crypto::VerifyingKey> Get(const std::string& account_id) {
    crypto::XOnlyPubKey raw;
    {
      std::shared_lock lock(mu_);
      auto it = keys_.find(account_id);
      if (it == keys_.end()) return std::nullopt;
      if (auto* parsed = std::get_if<crypto::VerifyingKey>(&it->second)) return *parsed;
      raw = std::get<crypto::XOnlyPubKey>(it->second);
    }
    auto parsed = crypto::VerifyingKey::Parse(raw);  // ~5 µs: outside the lock
    std::unique_lock lock(mu_);
    auto it = keys_.find(account_id);
    if (it != keys_.end()) {
      if (parsed)
        it->second = *parsed;
      else
        keys_.erase(it);
    }
    return parsed;
  }
  void Put(const std::string& account_id, const crypto::VerifyingKey& key) {
    std::unique_lock lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();  // bounded; refilled from the store on demand
    keys_.insert_or_assign(account_id, key);
  }
  // Adds keys while the cache holds fewer than kPreloadEntries (a preload
  // must not push out keys fetched on demand); a key already cached is kept.
  // Returns how many were added. Takes the lock per 256 keys, so signature
  // checks wait at most that long.
  std::size_t Preload(std::vector<std::pair<std::string, Entry>>& keys) {
    constexpr std::size_t kPerLock = 256;
    std::size_t added = 0;
    for (std::size_t i = 0; i < keys.size();) {
      std::unique_lock lock(mu_);
      for (const std::size_t end = std::min(keys.size(), i + kPerLock); i < end; ++i) {
        if (keys_.size() >= kPreloadEntries) return added;
        added += keys_.try_emplace(std::move(keys[i].first), keys[i].second).second ? 1 : 0;
      }
    }
    return added;
  }
  // Sizes the table up front for twice the `n` keys bound at start, at most
  // kMaxEntries: a rehash holds every signature check for as long as it
  // relinks the table (~0.25 s at two million keys: sized for the preload
  // alone, the keys fetched on demand past it rehashed it under load;
  // docs/BENCHMARKS.md, forty-third round). The buckets cost 8 bytes each.
  void Reserve(std::size_t n) {
    std::unique_lock lock(mu_);
    keys_.reserve(std::min(2 * n, kMaxEntries));
  }
  std::size_t bucket_count() const {
    std::shared_lock lock(mu_);
    return keys_.bucket_count();
  }
  std::size_t size() const {
    std::shared_lock lock(mu_);
    return keys_.size();
  }

  // ~215 bytes per key (node, heap-allocated id, bucket; the variant is as
  // large parsed as not): at most ~0.9 GB; the preload alone ~645 MB, on a
  // node with three million bound keys. A key not preloaded costs its first
  // signature check a store read and a parse.
  static constexpr std::size_t kMaxEntries = 4'000'000;
  static constexpr std::size_t kPreloadEntries = 3'000'000;  // the preload's share

 private:
  mutable std::shared_mutex mu_;
  // guarded by mu_: parsed once used, the stored bytes until then
  std::unordered_map<std::string, Entry> keys_;
};

}  // namespace kray::state
