// kray-loadgen's CPU accounting by thread (bench/thread_cpu.h): what
// docs/BENCHMARKS.md's per-thread figures are read from.
#include "thread_cpu.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace kray::bench {
namespace {

// krayd's rollup watch taking the index over: the watch thread renames
// itself "kray-rollup" and the low-priority thread that had the name exits.
// Summed by name, kray-rollup came out negative and was dropped (the
// fiftieth round's runs listed no rollup thread at all).
TEST(ThreadCpuTest, ARenamedThreadCountsOnceUnderItsNewNameAndExitedOnesApart) {
  const ThreadCpus before{{1, {"kray-rollup", 10.0}}, {2, {"kray-rollup-w", 0.5}}, {3, {"kray-sequencer", 4.0}}};
  const ThreadCpus after{{2, {"kray-rollup", 1.5}}, {3, {"kray-sequencer", 6.0}}, {4, {"krayd", 0.25}}};
  // Thread 1 used 0.75 s more before it exited: the process, 1.0 + 2.0 + 0.25 + 0.75 s.
  auto us = MicrosPerRequest(before, after, 4.0, 1000);
  EXPECT_DOUBLE_EQ(us["kray-rollup"], 1000.0);
  EXPECT_DOUBLE_EQ(us["kray-sequencer"], 2000.0);
  EXPECT_DOUBLE_EQ(us["krayd"], 250.0);  // started since: all of its time
  EXPECT_NEAR(us["(exited threads)"], 750.0, 1e-6);
  EXPECT_EQ(us.size(), 4u);
  // Clock-tick rounding is not an exited thread; under 1 us per request is left out.
  auto quiet = MicrosPerRequest(before, after, 3.3, 1000);
  EXPECT_EQ(quiet.count("(exited threads)"), 0u);
  EXPECT_EQ(MicrosPerRequest(before, after, 3.25, 10000000).count("krayd"), 0u);
  EXPECT_TRUE(MicrosPerRequest(before, after, 4.0, 0).empty());
}

TEST(ThreadCpuTest, StatFieldsAreCountedAfterTheNamesLastParenthesis) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  // A name with a parenthesis and a space: utime 200, stime 100 ticks.
  EXPECT_DOUBLE_EQ(StatCpuSeconds("42 (kray) x) S 1 2 3 4 5 6 7 8 9 10 200 100 0 0 20 0"), 300 / tick);
  EXPECT_DOUBLE_EQ(StatCpuSeconds("42 (krayd"), 0.0);
}

}  // namespace
}  // namespace kray::bench
