#include "kray/core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kray::metrics {
namespace {

TEST(Histogram, BucketsAreCumulativeAndLessOrEqual) {
  Histogram h{1, 5, 10};
  for (double v : {0.5, 1.0, 1.5, 5.0, 7.0, 11.0}) h.Observe(v);
  auto s = h.Read();
  EXPECT_EQ(s.upper_bounds, (std::vector<double>{1, 5, 10}));
  // le=1: 0.5, 1.0 (a bound is inclusive); le=5: +1.5, 5.0; le=10: +7; +Inf: +11.
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(s.count(), 6u);
  EXPECT_DOUBLE_EQ(s.sum, 26.0);
}

TEST(Histogram, UnsortedBoundsAreSortedAndEmptyReadsZero) {
  Histogram h{10, 1};
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1, 10}));
  auto s = h.Read();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0, 0}));
  EXPECT_EQ(s.sum, 0);
}

TEST(Histogram, ConcurrentObservationsAreAllCounted) {
  Histogram h(ExponentialBuckets(1, 2, 8));
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.Observe(i % 300);
        c.Inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Read().count(), 40000u);
  EXPECT_EQ(c.value(), 40000u);
}

TEST(ExponentialBuckets, StartFactorCount) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
}

}  // namespace
}  // namespace kray::metrics
