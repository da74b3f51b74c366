// ConnectionLimits and LogThrottle without sockets: the caps count and
// uncount exactly, refuse past their limits, and never overflow.
#include "kray/api/connection_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

namespace kray::api {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionLimits, TotalCap) {
  ConnectionLimits l({/*max_connections=*/3, /*per_ip=*/10, /*body=*/100});
  EXPECT_EQ(l.Open("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(l.Open("10.0.0.2"), Admission::kAdmitted);
  EXPECT_EQ(l.Open("10.0.0.3"), Admission::kAdmitted);
  EXPECT_EQ(l.Open("10.0.0.4"), Admission::kTooManyConnections);
  EXPECT_EQ(l.open_connections(), 3u);
  l.Close("10.0.0.2");
  EXPECT_EQ(l.Open("10.0.0.4"), Admission::kAdmitted);
  EXPECT_STREQ(AdmissionCapName(Admission::kTooManyConnections), "maxconnections");
}

TEST(ConnectionLimits, PerClientCap) {
  ConnectionLimits l({10, 2, 100});
  EXPECT_EQ(l.Open("a"), Admission::kAdmitted);
  EXPECT_EQ(l.Open("a"), Admission::kAdmitted);
  EXPECT_EQ(l.Open("a"), Admission::kTooManyFromClient);
  EXPECT_EQ(l.Open("b"), Admission::kAdmitted);  // other clients are not affected
  EXPECT_EQ(l.open_connections_from("a"), 2u);
  EXPECT_EQ(l.open_connections(), 3u);  // the refused one was not counted
  l.Close("a");
  EXPECT_EQ(l.Open("a"), Admission::kAdmitted);
  for (int i = 0; i < 2; ++i) l.Close("a");
  l.Close("b");
  EXPECT_EQ(l.open_connections(), 0u);
  EXPECT_EQ(l.open_connections_from("a"), 0u);
  l.Close("never-opened");  // ignored, no underflow
  EXPECT_EQ(l.open_connections(), 0u);
  EXPECT_STREQ(AdmissionCapName(Admission::kTooManyFromClient), "maxconnectionsperip");
}

TEST(ConnectionLimits, BodyBudget) {
  ConnectionLimits l({10, 10, 1000});
  EXPECT_TRUE(l.ReserveBody(0));
  EXPECT_TRUE(l.ReserveBody(600));
  EXPECT_FALSE(l.ReserveBody(401));  // would be 1001
  EXPECT_TRUE(l.ReserveBody(400));   // exactly the cap
  EXPECT_FALSE(l.ReserveBody(1));
  EXPECT_TRUE(l.ReserveBody(0));
  EXPECT_EQ(l.reserved_body_bytes(), 1000u);
  l.ReleaseBody(600);
  EXPECT_TRUE(l.ReserveBody(600));
  // Declared sizes come from clients: no overflow on huge values.
  EXPECT_FALSE(l.ReserveBody(std::numeric_limits<std::size_t>::max()));
  EXPECT_FALSE(l.ReserveBody(std::numeric_limits<std::size_t>::max() - 500));
  l.ReleaseBody(1000);
  EXPECT_EQ(l.reserved_body_bytes(), 0u);
  EXPECT_FALSE(l.ReserveBody(1001));  // more than the whole budget, even when idle
}

TEST(ConnectionLimits, ConcurrentOpenCloseBalances) {
  ConnectionLimits l({64, 16, 1 << 20});
  std::vector<std::thread> threads;
  std::atomic<int> admitted{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&l, &admitted, t] {
      std::string ip = "ip" + std::to_string(t % 4);
      for (int i = 0; i < 5000; ++i) {
        if (l.Open(ip) == Admission::kAdmitted) {
          ++admitted;
          EXPECT_LE(l.open_connections_from(ip), 16u);
          if (l.ReserveBody(100)) l.ReleaseBody(100);
          l.Close(ip);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(l.open_connections(), 0u);
  EXPECT_EQ(l.reserved_body_bytes(), 0u);
}

// The body budget is an atomic that both HTTP workers change without a lock:
// however the reservations interleave, no more are held at once than the
// budget fits, and every byte comes back.
TEST(ConnectionLimits, ConcurrentBodyReservationsNeverExceedTheBudget) {
  ConnectionLimits l({64, 64, 1000});
  std::atomic<int> holding{0}, most{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!l.ReserveBody(300)) {
          ++refused;
          continue;
        }
        const int now = ++holding;  // at most 3 reservations of 300 fit in 1000
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        EXPECT_LE(l.reserved_body_bytes(), 1000u);
        --holding;
        l.ReleaseBody(300);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(most.load(), 3);
  ::testing::Test::RecordProperty("refused", refused.load());  // how often the budget was full
  EXPECT_EQ(l.reserved_body_bytes(), 0u);
  l.ReleaseBody(5);  // more than is held: clamped at zero, as before
  EXPECT_EQ(l.reserved_body_bytes(), 0u);
}

TEST(LogThrottle, OneLinePerIntervalWithTheCount) {
  LogThrottle t(1s);
  auto t0 = LogThrottle::Clock::now();
  EXPECT_EQ(t.Record(t0), 1u);  // the first event is reported at once
  EXPECT_EQ(t.Record(t0 + 10ms), 0u);
  EXPECT_EQ(t.Record(t0 + 500ms), 0u);
  EXPECT_EQ(t.Record(t0 + 999ms), 0u);
  EXPECT_EQ(t.Record(t0 + 1000ms), 4u);  // the three suppressed ones and this one
  EXPECT_EQ(t.Record(t0 + 1500ms), 0u);
  EXPECT_EQ(t.Record(t0 + 5000ms), 2u);
  // 10,000 events in one second: one line.
  int lines = 0;
  for (int i = 0; i < 10000; ++i) lines += t.Record(t0 + 5001ms + std::chrono::microseconds(i * 90)) > 0;
  EXPECT_EQ(lines, 0);
  EXPECT_EQ(t.Record(t0 + 6000ms), 10001u);
}

}  // namespace
}  // namespace kray::api
