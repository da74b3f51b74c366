// Token bucket per client (see rate_limiter.h).
#include "kray/api/rate_limiter.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <functional>
#include <vector>

namespace kray::api {

std::string ClientKey(std::string_view ip) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(ip), ec);
  if (ec) return std::string(ip);
  if (addr.is_v4()) return addr.to_string();
  auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_clients, Clock clock)
    : rate_(rate > 0 ? rate : 0),
      burst_(burst > 0 ? burst : std::max(1.0, rate)),
      max_per_shard_(std::max<std::size_t>(1, max_clients / kShards)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

RateLimiter::Bucket& RateLimiter::Refilled(Shard& shard, std::string_view client,
                                           std::chrono::steady_clock::time_point now) {
  auto it = shard.buckets.find(std::string(client));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) Prune(shard, now);
    it = shard.buckets.emplace(std::string(client), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  return b;
}

std::size_t RateLimiter::TakeUpTo(std::string_view client, std::size_t n) {
  if (rate_ <= 0 || n == 0) return n;
  auto now = clock_();
  auto& shard = shards_[std::hash<std::string_view>{}(client) % kShards];
  std::lock_guard lock(shard.mu);
  Bucket& b = Refilled(shard, client, now);
  auto taken = static_cast<std::size_t>(std::min(static_cast<double>(n), std::floor(b.tokens)));
  b.tokens -= static_cast<double>(taken);
  return taken;
}

RateLimiter::Decision RateLimiter::Allow(std::string_view client) {
  if (rate_ <= 0) return {};
  auto now = clock_();
  auto& shard = shards_[std::hash<std::string_view>{}(client) % kShards];
  std::lock_guard lock(shard.mu);
  Bucket& b = Refilled(shard, client, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  double wait = (1.0 - b.tokens) / rate_;
  return {false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

void RateLimiter::Prune(Shard& shard, std::chrono::steady_clock::time_point now) {
  // Drop buckets that have refilled completely: forgetting them changes nothing.
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed * rate_ >= burst_) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  if (shard.buckets.size() < max_per_shard_) return;
  // Still full (many busy clients): drop the least recently seen half.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> order;
  order.reserve(shard.buckets.size());
  for (auto& [k, v] : shard.buckets) order.emplace_back(v.last, k);
  std::sort(order.begin(), order.end());
  for (std::size_t i = 0; i < order.size() / 2 + 1 && i < order.size(); ++i) shard.buckets.erase(order[i].second);
}

std::size_t RateLimiter::tracked_clients() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace kray::api
