#include "kray/core/progress.h"

#include <gtest/gtest.h>

namespace kray {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  ProgressReporter::Clock fn() {
    return [this] { return now; };
  }
};

TEST(ProgressReporter, RatesAndEtaFromTheInjectedClock) {
  FakeClock clock;
  ProgressReporter p("batches", "txs", 20, clock.fn());
  clock.now += 10s;
  auto s = p.Measure(5, 250);
  EXPECT_EQ(s.elapsed, 10s);
  EXPECT_DOUBLE_EQ(s.units_per_second, 0.5);
  EXPECT_DOUBLE_EQ(s.items_per_second, 25.0);
  ASSERT_TRUE(s.eta.has_value());
  EXPECT_EQ(*s.eta, 30s);  // 15 batches left at 0.5/s
  EXPECT_EQ(p.Format(5, 250), "0.5 batches/s, 25.0 txs/s, elapsed 10s, ETA 30s");
}

TEST(ProgressReporter, EtaRoundsUpAndIsZeroOnlyWhenDone) {
  FakeClock clock;
  ProgressReporter p("batches", "txs", 3, clock.fn());
  clock.now += 1000ms;
  EXPECT_EQ(*p.Measure(2, 0).eta, 1s);
  clock.now += 1ms;  // 2 batches in 1.001 s: 0.5005 s left, shown as 1s
  EXPECT_EQ(*p.Measure(2, 0).eta, 1s);
  EXPECT_EQ(*p.Measure(3, 0).eta, 0s);
  EXPECT_EQ(*p.Measure(4, 0).eta, 0s);
}

TEST(ProgressReporter, UnknownBeforeTheFirstUnitOrTime) {
  FakeClock clock;
  ProgressReporter p("blocks", "txs", 100, clock.fn());
  EXPECT_EQ(p.Format(0, 0), "0.0 blocks/s, 0.0 txs/s, elapsed 0s, ETA unknown");
  EXPECT_EQ(p.Format(5, 7), "0.0 blocks/s, 0.0 txs/s, elapsed 0s, ETA unknown");  // no time has passed
  clock.now += 2s;
  EXPECT_FALSE(p.Measure(0, 0).eta.has_value());
  EXPECT_EQ(p.Format(0, 0), "0.0 blocks/s, 0.0 txs/s, elapsed 2s, ETA unknown");
}

TEST(ProgressReporter, NoEtaWithoutATotalAndAMovingTotal) {
  FakeClock clock;
  ProgressReporter p("blocks", "txs", 0, clock.fn());
  clock.now += 4s;
  EXPECT_FALSE(p.Measure(8, 800).eta.has_value());
  EXPECT_EQ(p.Format(8, 800), "2.0 blocks/s, 200 txs/s, elapsed 4s");
  p.set_total(10);  // the tip became known
  EXPECT_EQ(p.Format(8, 800), "2.0 blocks/s, 200 txs/s, elapsed 4s, ETA 1s");
  p.set_total(20);  // and moved
  EXPECT_EQ(*p.Measure(8, 800).eta, 6s);
}

TEST(ProgressReporter, LongJobsUseCoarseUnits) {
  FakeClock clock;
  ProgressReporter p("batches", "txs", 100000, clock.fn());
  clock.now += 3700s;
  EXPECT_EQ(p.Format(37000, 3700000), "10.0 batches/s, 1000 txs/s, elapsed 1h01m, ETA 1h45m");
}

TEST(FormatDuration, TwoFieldsAtMost) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(-5s), "0s");
  EXPECT_EQ(FormatDuration(59s), "59s");
  EXPECT_EQ(FormatDuration(60s), "1m00s");
  EXPECT_EQ(FormatDuration(65s), "1m05s");
  EXPECT_EQ(FormatDuration(3599s), "59m59s");
  EXPECT_EQ(FormatDuration(3600s), "1h00m");
  EXPECT_EQ(FormatDuration(86399s), "23h59m");
  EXPECT_EQ(FormatDuration(86400s + 4 * 3600s), "1d04h");
}

TEST(FormatRate, OneDecimalBelowAHundred) {
  EXPECT_EQ(FormatRate(0), "0.0");
  EXPECT_EQ(FormatRate(0.26), "0.3");
  EXPECT_EQ(FormatRate(12.5), "12.5");
  EXPECT_EQ(FormatRate(99.94), "99.9");
  EXPECT_EQ(FormatRate(640.4), "640");
  EXPECT_EQ(FormatRate(-1), "0.0");
}

}  // namespace
}  // namespace kray
