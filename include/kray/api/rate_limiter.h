// Per-client token-bucket rate limiting (one bucket per client IP).
//
// Each client may make `rate` requests per second on average with bursts of
// up to `burst` requests. A bucket starts full; every request takes one token;
// tokens refill continuously at `rate` per second up to `burst`.
//
// Memory is bounded: when more than `max_clients` buckets exist, buckets that
// are full again (idle clients) are dropped; if all are busy, the oldest-seen
// ones are dropped.
//
// Thread-safety: Allow() may be called concurrently (internally sharded
// mutexes). The clock is injectable so tests need no sleeps.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kray::api {

// The key a client is counted under, by every per-client limit (rate
// buckets, connections per IP): an IPv4 address as is; an IPv4-mapped IPv6
// address as its IPv4 address; any other IPv6 address by its /64 prefix
// ("2001:db8:1:2::/64"), since one end site is routinely given a whole /64
// and could otherwise take 2^64 buckets. Text that is not an address is
// returned unchanged.
std::string ClientKey(std::string_view ip);

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  // >= 1 when !allowed: when one token is back
  };

  // rate == 0 disables limiting (Allow() always allows). burst == 0 means
  // burst = max(1, rate).
  RateLimiter(double rate, double burst, std::size_t max_clients = 100000, Clock clock = {});
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  bool enabled() const { return rate_ > 0; }
  Decision Allow(std::string_view client);
  // Takes up to `n` tokens from the client's bucket (as many as it holds)
  // and returns how many it took: a request that carries many items (a
  // batch) pays for each. Disabled: returns n.
  std::size_t TakeUpTo(std::string_view client, std::size_t n);
  std::size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 16;

  void Prune(Shard& shard, std::chrono::steady_clock::time_point now);
  // The client's bucket, refilled to `now` (shard.mu held).
  Bucket& Refilled(Shard& shard, std::string_view client, std::chrono::steady_clock::time_point now);

  double rate_, burst_;
  std::size_t max_per_shard_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kray::api
