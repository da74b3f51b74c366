// Token bucket with an injected clock (no sleeps).
#include "kray/api/rate_limiter.h"

#include <gtest/gtest.h>

namespace kray::api {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::steady_clock::time_point{} + 1000s};
  RateLimiter::Clock fn() {
    return [this] { return now; };
  }
};

TEST(RateLimiter, BurstThenRefillAtRate) {
  FakeClock clock;
  RateLimiter rl(10, 5, 1000, clock.fn());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Allow("1.2.3.4").allowed) << i;
  auto d = rl.Allow("1.2.3.4");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 1);
  clock.now += 100ms;  // one token at 10/s
  EXPECT_TRUE(rl.Allow("1.2.3.4").allowed);
  EXPECT_FALSE(rl.Allow("1.2.3.4").allowed);
  clock.now += 10s;  // refills to the burst, not beyond
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Allow("1.2.3.4").allowed) << i;
  EXPECT_FALSE(rl.Allow("1.2.3.4").allowed);
}

// A batch pays one token per item: it gets as many as the bucket holds.
TEST(RateLimiter, TakeUpToTakesWhatTheBucketHolds) {
  FakeClock clock;
  RateLimiter rl(10, 50, 1000, clock.fn());
  EXPECT_EQ(rl.TakeUpTo("a", 30), 30u);
  EXPECT_EQ(rl.TakeUpTo("a", 30), 20u);  // 20 left
  EXPECT_EQ(rl.TakeUpTo("a", 30), 0u);
  EXPECT_FALSE(rl.Allow("a").allowed);
  clock.now += 1s;  // 10 tokens back
  EXPECT_EQ(rl.TakeUpTo("a", 3), 3u);
  EXPECT_EQ(rl.TakeUpTo("a", 100), 7u);
  EXPECT_EQ(rl.TakeUpTo("b", 0), 0u);
  RateLimiter off(0, 0);
  EXPECT_EQ(off.TakeUpTo("a", 5000), 5000u);
}

TEST(ClientKey, Ipv6ClientsAreCountedByTheirSlash64) {
  EXPECT_EQ(ClientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("2001:db8:1:2::1"), ClientKey("2001:db8:1:2:ffff::9"));
  EXPECT_NE(ClientKey("2001:db8:1:2::1"), ClientKey("2001:db8:1:3::1"));
  EXPECT_EQ(ClientKey("::1"), "::/64");
  EXPECT_EQ(ClientKey("not an address"), "not an address");
}

TEST(RateLimiter, ClientsAreIndependent) {
  FakeClock clock;
  RateLimiter rl(1, 1, 1000, clock.fn());
  EXPECT_TRUE(rl.Allow("a").allowed);
  EXPECT_FALSE(rl.Allow("a").allowed);
  EXPECT_TRUE(rl.Allow("b").allowed);
}

TEST(RateLimiter, RetryAfterRoundsUp) {
  FakeClock clock;
  RateLimiter rl(0.25, 1, 1000, clock.fn());  // one request per 4 s
  EXPECT_TRUE(rl.Allow("a").allowed);
  EXPECT_EQ(rl.Allow("a").retry_after_seconds, 4);
  clock.now += 1500ms;
  EXPECT_EQ(rl.Allow("a").retry_after_seconds, 3);
  clock.now += 2500ms;
  EXPECT_TRUE(rl.Allow("a").allowed);
}

TEST(RateLimiter, ZeroRateDisables) {
  RateLimiter rl(0, 0);
  EXPECT_FALSE(rl.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.Allow("a").allowed);
  EXPECT_EQ(rl.tracked_clients(), 0u);
}

TEST(RateLimiter, MemoryIsBounded) {
  FakeClock clock;
  RateLimiter rl(1, 2, 160, clock.fn());  // 10 per shard
  for (int i = 0; i < 5000; ++i) rl.Allow("client-" + std::to_string(i));
  EXPECT_LE(rl.tracked_clients(), 160u);
  // A busy client that was just limited stays limited.
  EXPECT_TRUE(rl.Allow("busy").allowed);
  EXPECT_TRUE(rl.Allow("busy").allowed);
  EXPECT_FALSE(rl.Allow("busy").allowed);
}

}  // namespace
}  // namespace kray::api
