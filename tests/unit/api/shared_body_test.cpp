// SharedBody: one build, however many requests ask at once.
#include "../../../src/api/shared_body.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kray::api {
namespace {

TEST(SharedBody, ConcurrentCallersShareOneBuild) {
  SharedBody shared;
  std::atomic<int> builds{0};
  auto build = [&]() -> Result<std::string> {
    ++builds;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others arrive meanwhile
    return std::string("body");
  };
  std::vector<std::shared_ptr<const std::string>> got(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = shared.Get(build);
      ASSERT_TRUE(r.ok());
      got[i] = *r;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(builds.load(), 1);
  for (const auto& body : got) {
    ASSERT_TRUE(body);
    EXPECT_EQ(body.get(), got[0].get());  // one copy in memory
    EXPECT_EQ(*body, "body");
  }
  auto later = shared.Get(build);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->get(), got[0].get());
  EXPECT_EQ(builds.load(), 1);
}

TEST(SharedBody, AFailedBuildIsNotKept) {
  SharedBody shared;
  auto r1 = shared.Get([]() -> Result<std::string> { return Error::Unavailable("not_yet", "not ready"); });
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, "not_yet");
  auto r2 = shared.Get([]() -> Result<std::string> { return std::string("ready"); });
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(**r2, "ready");
}

}  // namespace
}  // namespace kray::api
