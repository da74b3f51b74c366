// When an HTTP worker polls instead of sleeping (src/api/idle_poll.h): the
// policy pauses after windows that saved nothing and probes again; the poll
// runs what arrives, says whether a wake-up was saved, and ends at a stop.
#include "../../../src/api/idle_poll.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

namespace kray::api {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;

TEST(IdlePollPolicy, PausesAfterWindowsInVainAndProbesUntilOneSavesAWakeUp) {
  IdlePollPolicy policy;
  // A quick client: every window saves a wake-up, every handler polls.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(policy.AfterHandler());
    policy.Polled(true);
  }
  // A slow client: polls until kMisses windows in a row found nothing...
  for (int i = 0; i < IdlePollPolicy::kMisses; ++i) {
    ASSERT_TRUE(policy.AfterHandler()) << i;
    policy.Polled(false);
  }
  // ...then only after every kProbe-th handler.
  int polls = 0;
  for (std::uint64_t i = 0; i < 10 * IdlePollPolicy::kProbe; ++i) {
    if (policy.AfterHandler()) {
      ++polls;
      policy.Polled(false);
    }
  }
  EXPECT_EQ(polls, 10);
  // A probe that saves a wake-up resumes polling after every handler.
  while (!policy.AfterHandler()) {
  }
  policy.Polled(true);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(policy.AfterHandler()) << i;
}

TEST(PollUntilIdle, RunsWhatArrivesAndSaysWhetherAWakeUpWasSaved) {
  net::io_context io(1);
  auto guard = net::make_work_guard(io);
  // Nothing arrives: the window passes, nothing saved.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(PollUntilIdle(io, 20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);

  // Ready at once only (an answer's own completion): nothing saved.
  int ran = 0;
  net::post(io, [&] { ++ran; });
  EXPECT_FALSE(PollUntilIdle(io, 5ms));
  EXPECT_EQ(ran, 1);

  // Work posted from another thread after the poll found none: run, saved,
  // and the window starts again from it.
  std::thread client([&] {
    std::this_thread::sleep_for(10ms);
    net::post(io, [&] { ++ran; });
  });
  EXPECT_TRUE(PollUntilIdle(io, 2s));
  client.join();
  EXPECT_EQ(ran, 2);
}

TEST(PollUntilIdle, EndsWhenTheContextStops) {
  net::io_context io(1);
  auto guard = net::make_work_guard(io);
  std::thread stopper([&] {
    std::this_thread::sleep_for(10ms);
    io.stop();
  });
  auto t0 = std::chrono::steady_clock::now();
  PollUntilIdle(io, 10s);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace kray::api
