// The sequencer's wait for more operations (LedgerOptions::group_wait,
// src/state/sequencer.h): a small group waits while submissions overlap;
// one client's requests, sent one after another, never wait.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "test_util.h"

namespace kray::state {
namespace {

using namespace std::chrono_literals;
using testing::Key;
using testing::TempDir;

// Holds the sequencer after its next COMMIT, when asked to, until released.
struct Hold {
  std::mutex mu;
  std::condition_variable cv;
  bool asked = false, held = false;

  std::function<void()> Hook() {
    return [this] {
      std::unique_lock lock(mu);
      held = asked;
      cv.notify_all();
      cv.wait(lock, [&] { return !asked; });
      held = false;
    };
  }
  void Ask(bool on) {
    std::lock_guard lock(mu);
    asked = on;
    cv.notify_all();
  }
  void WaitHeld() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held; });
  }
};

class GroupWaitTest : public ::testing::Test {
 protected:
  void Open(std::chrono::microseconds group_wait) {
    auto options = testing::Options(dir_);
    options.group_wait = group_wait;
    options.after_commit = hold_->Hook();
    auto opened = Ledger::Open(options, registry_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ledger_ = std::move(*opened);
  }

  Operation Signed(std::uint64_t nonce, Amount amount = 1) {
    auto op = test::SignOperation(ledger_->params(), ledger_->registry(),
                                  test::TransferRequest(a_.account_id, b_.account_id, amount, nonce), a_);
    EXPECT_TRUE(op.ok());
    return op.ok() ? std::move(*op) : Operation{};
  }

  std::future<Result<Receipt>> Submit(Operation op, ApplyOn apply = ApplyOn::kCallerIfIdle) {
    auto answer = std::make_shared<std::promise<Result<Receipt>>>();
    auto got = answer->get_future();
    ledger_->Submit(
        std::move(op), [answer](Result<Receipt> r) { answer->set_value(std::move(r)); }, apply);
    return got;
  }

  // Many submissions while the sequencer is held: each arrives while
  // others are open, as under load from many clients; they commit as one
  // large group, then one more on its own. Among the many a
  // signature that fails its check and a transfer that fails in its group
  // (both must stop counting as open). Returns the next nonce.
  std::uint64_t Overlap(std::uint64_t nonce) {
    hold_->Ask(true);
    std::vector<std::future<Result<Receipt>>> answers;
    answers.push_back(Submit(Signed(nonce++), ApplyOn::kSequencer));  // held on the sequencer's thread
    hold_->WaitHeld();
    Operation forged = Signed(nonce);
    forged.signature[5] ^= 1;
    answers.push_back(Submit(std::move(forged)));
    answers.push_back(Submit(Signed(nonce, Amount{1} << 62)));  // more than A has
    answers.push_back(Submit(Signed(nonce + 100)));             // a nonce A has not reached
    for (int i = 0; i < 20; ++i) answers.push_back(Submit(Signed(nonce++)));
    hold_->Ask(false);
    int failed = 0;
    for (auto& a : answers) failed += a.get().ok() ? 0 : 1;
    EXPECT_EQ(failed, 3);
    // A group right after a large one does not wait: this one, on its own.
    const auto waits = ledger_->metrics().group_waits.value();
    auto after = Submit(Signed(nonce++));
    EXPECT_EQ(after.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(after.get().ok());
    EXPECT_EQ(ledger_->metrics().group_waits.value(), waits);
    return nonce;
  }

  void ExpectConserved() { testing::ExpectConserved(*ledger_); }

  TempDir dir_;
  std::shared_ptr<Hold> hold_ = std::make_shared<Hold>();
  ModuleRegistry registry_;
  std::unique_ptr<Ledger> ledger_;
  Key a_ = testing::Dev1(), b_ = testing::Dev2();
};

// After overlapping submissions a lone operation waits for a second one and
// commits with it, in one group.
TEST_F(GroupWaitTest, ASmallGroupWaitsForMoreWhileSubmissionsOverlap) {
  Open(10s);
  std::uint64_t nonce = Overlap(0);
  const auto waits = ledger_->metrics().group_waits.value();
  auto first = Submit(Signed(nonce++));
  EXPECT_EQ(first.wait_for(200ms), std::future_status::timeout) << "answered without waiting for more";
  auto second = Submit(Signed(nonce++));
  ASSERT_TRUE(first.get().ok());
  ASSERT_TRUE(second.get().ok());
  EXPECT_EQ(ledger_->metrics().group_waits.value(), waits + 1);
  EXPECT_GE(ledger_->metrics().operations_gathered.value(), 1u);
  ExpectConserved();
}

// A node stopping while a group waits: the wait ends at once and the
// operation is answered (committed, as every operation taken off the queue).
TEST_F(GroupWaitTest, AStopEndsAWait) {
  Open(10s);
  std::uint64_t nonce = Overlap(0);
  auto lone = Submit(Signed(nonce));
  ASSERT_EQ(lone.wait_for(200ms), std::future_status::timeout) << "answered without waiting";
  const auto started = std::chrono::steady_clock::now();
  ledger_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_EQ(lone.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(lone.get().ok());
}

// The wait ends at its deadline when nothing more comes.
TEST_F(GroupWaitTest, AWaitEndsAtItsDeadline) {
  Open(300ms);
  std::uint64_t nonce = Overlap(0);
  const auto waits = ledger_->metrics().group_waits.value();
  const auto gathered = ledger_->metrics().operations_gathered.value();
  const auto started = std::chrono::steady_clock::now();
  auto lone = Submit(Signed(nonce));
  ASSERT_TRUE(lone.get().ok());
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(ledger_->metrics().group_waits.value(), waits + 1);
  EXPECT_EQ(ledger_->metrics().operations_gathered.value(), gathered);
  ExpectConserved();
}

// One client's requests, one after another, do not overlap: once the
// overlap of a burst has faded (a few requests), none waits. Were a refused
// submission still counted as open, every request would seem to overlap.
TEST_F(GroupWaitTest, OneClientsRequestsNeverWait) {
  Open(1s);
  std::uint64_t nonce = Overlap(0);
  for (int i = 0; i < 20; ++i) {  // the burst's overlap fades (a wait or two, each backing the next off)
    auto r = Submit(Signed(nonce++));
    ASSERT_EQ(r.wait_for(30s), std::future_status::ready);
    ASSERT_TRUE(r.get().ok());
  }
  const auto waits = ledger_->metrics().group_waits.value();
  for (int i = 0; i < 30; ++i) {
    // Applied, and answered, on this thread (the input log's path), not
    // queued for a sequencer that might wait.
    std::thread::id answered_on;
    ledger_->Submit(
        Signed(nonce++),
        [&](Result<Receipt> r) {
          EXPECT_TRUE(r.ok());
          answered_on = std::this_thread::get_id();
        },
        ApplyOn::kCallerIfIdle);
    EXPECT_EQ(answered_on, std::this_thread::get_id()) << "request " << i << " was queued";
  }
  EXPECT_EQ(ledger_->metrics().group_waits.value(), waits);
  ExpectConserved();
}

// Submitters racing each other with the waits on, through the input log
// (synchronous=FULL): every transfer applied once, in nonce order, and
// conserved.
TEST(GroupWait, RacingSubmittersAreEachAppliedOnce) {
  TempDir dir;
  auto options = testing::Options(dir);
  options.synchronous = "FULL";
  options.group_wait = 300us;
  ModuleRegistry registry;
  auto opened = Ledger::Open(options, registry);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Ledger& ledger = **opened;
  const Key a = testing::Dev1(), b = testing::Dev2();
  const Amount a_before = ledger.GetAccount(a.account_id)->BalanceOf("KRAY").available;
  constexpr std::uint64_t kEach = 80;
  std::atomic<int> failed{0};
  auto send = [&](const Key& from, const Key& to, Amount amount) {
    for (std::uint64_t nonce = 0; nonce < kEach; ++nonce) {
      auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                    test::TransferRequest(from.account_id, to.account_id, amount, nonce), from);
      ASSERT_TRUE(op.ok());
      std::promise<Result<Receipt>> answer;
      auto got = answer.get_future();
      ledger.Submit(
          std::move(*op), [&](Result<Receipt> r) { answer.set_value(std::move(r)); }, ApplyOn::kCallerIfIdle);
      if (!got.get().ok()) ++failed;
    }
  };
  std::thread t1(send, a, b, 3), t2(send, b, a, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(failed.load(), 0);
  auto stats = ledger.GetTxStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->total, 2 * kEach);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->nonce, kEach);
  EXPECT_EQ(ledger.GetAccount(b.account_id)->nonce, kEach);
  EXPECT_LT(ledger.GetAccount(a.account_id)->BalanceOf("KRAY").available, a_before);  // sent 3 for each 2 back
  testing::ExpectConserved(ledger);
}

// group_wait 0: no group ever waits.
TEST_F(GroupWaitTest, ZeroNeverWaits) {
  Open(0us);
  std::uint64_t nonce = Overlap(0);
  auto lone = Submit(Signed(nonce));
  ASSERT_EQ(lone.wait_for(5s), std::future_status::ready);
  ASSERT_TRUE(lone.get().ok());
  EXPECT_EQ(ledger_->metrics().group_waits.value(), 0u);
  ExpectConserved();
}

}  // namespace
}  // namespace kray::state
