// The event feed over a real Ledger (temp datadir, regtest genesis, the
// sequencer held after a COMMIT by a test hook). A group is in the store a
// moment before the feed hears of it, so a resume can replay an operation
// whose live event arrives afterwards: the client must get it once.
#include "kray/api/event_feed.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "kray/state/core_module.h"
#include "kray/state/ledger.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Sink : public FeedClient {
 public:
  void Send(std::vector<FeedMessage> messages) override {
    std::lock_guard lock(mu_);
    for (const auto& m : messages) got_.push_back(json::parse(*m));
    cv_.notify_all();
  }
  void Drop(int, std::string) override {}
  // Waits until a message of `type` arrives; returns the messages so far.
  std::vector<json> WaitFor(const std::string& type, std::size_t count = 1) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] {
      return static_cast<std::size_t>(
                 std::count_if(got_.begin(), got_.end(), [&](const json& j) { return j["type"] == type; })) >= count;
    });
    return got_;
  }
  std::vector<std::uint64_t> EventSeqs() {
    std::lock_guard lock(mu_);
    std::vector<std::uint64_t> out;
    for (const auto& j : got_)
      if (j["type"] == "event") out.push_back(j["seq"].get<std::uint64_t>());
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> got_;
};

struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  void Set(bool o) {
    {
      std::lock_guard lock(mu);
      open = o;
    }
    cv.notify_all();
  }
};

TEST(EventFeedTest, ResumeRacingAnUnpublishedCommitSendsEachOperationOnce) {
  test::TempDir dir;
  state::ModuleRegistry registry;
  auto gate = std::make_shared<Gate>();
  state::LedgerOptions o;
  o.datadir = dir.file("data");
  o.genesis_path = test::RegtestGenesisPath();
  o.synchronous = "NORMAL";
  o.after_commit = [gate] {
    std::unique_lock lock(gate->mu);
    gate->cv.wait(lock, [&] { return gate->open; });
  };
  auto ledger = state::Ledger::Open(o, registry);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  EventFeed feed(FeedOptions{}, **ledger, nullptr, nullptr);

  auto a = test::DevAccount(1), b = test::DevAccount(2);
  auto send = [&](std::uint64_t nonce) {
    auto op = test::SignOperation((*ledger)->params(), (*ledger)->registry(),
                                  test::TransferRequest(a.account_id, b.account_id, 1, nonce), a);
    auto p = std::make_shared<std::promise<Result<state::Receipt>>>();
    auto f = p->get_future();
    (*ledger)->Submit(std::move(*op), [p](Result<state::Receipt> r) { p->set_value(std::move(r)); });
    return f;
  };
  ASSERT_TRUE(send(0).get().ok());  // seq 1, published

  // Seq 2 is committed (in the store) but the sequencer is held: not published.
  gate->Set(false);
  auto second = send(1);
  for (int i = 0; i < 500 && (*ledger)->queue_depth() > 0; ++i) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(second.wait_for(0ms), std::future_status::timeout);

  auto sink = std::make_shared<Sink>();
  auto id = feed.Attach(sink);
  std::promise<void> handled;
  feed.Receive(id, R"({"op":"subscribe","topics":["txs"],"since":0})", [&] { handled.set_value(); });
  handled.get_future().wait();
  sink->WaitFor("subscribed");
  EXPECT_EQ(sink->EventSeqs(), (std::vector<std::uint64_t>{1, 2}));  // the replay read the store

  gate->Set(true);
  ASSERT_TRUE(second.get().ok());
  ASSERT_TRUE(send(2).get().ok());  // seq 3, live
  sink->WaitFor("event", 3);
  std::this_thread::sleep_for(100ms);  // a duplicate of seq 2 would be queued before seq 3
  EXPECT_EQ(sink->EventSeqs(), (std::vector<std::uint64_t>{1, 2, 3}));
  feed.Detach(id);
}

// With no client attached the feed thread is not woken for each group; a
// client attaching later is still told the head that includes those groups
// (welcome, pong, subscribed), and gets live events from there.
TEST(EventFeedTest, GroupsCommittedWithNoClientAttachedAreInTheHeadAClientIsTold) {
  test::TempDir dir;
  state::ModuleRegistry registry;
  state::LedgerOptions o;
  o.datadir = dir.file("data");
  o.genesis_path = test::RegtestGenesisPath();
  o.synchronous = "NORMAL";
  auto ledger = state::Ledger::Open(o, registry);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  EventFeed feed(FeedOptions{}, **ledger, nullptr, nullptr);
  auto a = test::DevAccount(1), b = test::DevAccount(2);
  auto send = [&](std::uint64_t nonce) {
    auto op = test::SignOperation((*ledger)->params(), (*ledger)->registry(),
                                  test::TransferRequest(a.account_id, b.account_id, 1, nonce), a);
    return (*ledger)->SubmitSync(std::move(*op));
  };
  ASSERT_TRUE(send(0).ok());
  ASSERT_TRUE(send(1).ok());  // seq 2, committed with no client attached

  auto sink = std::make_shared<Sink>();
  auto id = feed.Attach(sink);
  auto got = sink->WaitFor("welcome");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0]["seq"], 2) << got[0].dump();
  auto call = [&](const char* text) {
    std::promise<void> handled;
    feed.Receive(id, text, [&] { handled.set_value(); });
    handled.get_future().wait();
  };
  call(R"({"op":"ping","id":1})");
  got = sink->WaitFor("pong");
  EXPECT_EQ(got.back()["seq"], 2) << got.back().dump();
  call(R"({"op":"subscribe","id":2,"topics":["txs"]})");
  got = sink->WaitFor("subscribed");
  EXPECT_EQ(got.back()["seq"], 2) << got.back().dump();
  ASSERT_TRUE(send(2).ok());  // seq 3, live
  sink->WaitFor("event");
  EXPECT_EQ(sink->EventSeqs(), (std::vector<std::uint64_t>{3}));
  feed.Detach(id);
}

}  // namespace
}  // namespace kray::api
