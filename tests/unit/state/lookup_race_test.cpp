// Ledger::GetOperation() against the sequencer: a lookup by id that races
// the operation's commit.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>

#include "kray/state/ledger.h"
#include "test_util.h"

namespace kray::state {
namespace {

// Two threads held at hooks the ledger calls: each hold is asked for by the
// test, seen once the thread arrives, and released by the test.
struct Holds {
  struct Hold {
    bool asked = false, held = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  Hold sequencer, reader;

  // The hook for `h`: when asked for, waits there until released.
  std::function<void()> HookFor(Hold Holds::*h) {
    return [this, h] {
      std::unique_lock lock(mu);
      (this->*h).held = (this->*h).asked;
      cv.notify_all();
      cv.wait(lock, [&] { return !(this->*h).asked; });
      (this->*h).held = false;
    };
  }
  void Ask(Hold Holds::*h, bool asked) {
    std::lock_guard lock(mu);
    (this->*h).asked = asked;
    cv.notify_all();
  }
  void WaitHeld(Hold Holds::*h) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return (this->*h).held; });
  }
};

// The log is read before the COMMIT, the queue after the operation has left
// it. The answer must be the committed operation, never "tx_not_found" (a
// wallet polling its transfer saw it).
TEST(LookupRace, LookupByIdWhileTheOperationCommitsFindsIt) {
  testing::TempDir dir;
  auto holds = std::make_shared<Holds>();
  auto options = testing::Options(dir);
  options.after_commit = holds->HookFor(&Holds::sequencer);
  options.between_log_and_pending = holds->HookFor(&Holds::reader);
  static const ModuleRegistry registry;
  auto opened = Ledger::Open(options, registry);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Ledger& ledger = **opened;
  const testing::Key a = testing::Dev1(), b = testing::Dev2();
  auto submit = [&](std::uint64_t nonce) {
    auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                  test::TransferRequest(a.account_id, b.account_id, 1, nonce), a);
    EXPECT_TRUE(op.ok());
    auto done = std::make_shared<std::promise<Result<Receipt>>>();
    std::string hash = op->hash;
    ledger.Submit(std::move(*op), [done](Result<Receipt> r) { done->set_value(std::move(r)); });
    return std::make_pair(hash, done->get_future());
  };

  // The sequencer is held after the first transfer's COMMIT; the second waits in the queue.
  holds->Ask(&Holds::sequencer, true);
  auto first = submit(0);
  holds->WaitHeld(&Holds::sequencer);
  auto second = submit(1);
  ASSERT_TRUE(ledger.GetOperation(second.first)->pending);

  // A reader misses the second in the log and is held before the queue.
  holds->Ask(&Holds::reader, true);
  auto lookup = std::async(std::launch::async, [&] { return ledger.GetOperation(second.first); });
  holds->WaitHeld(&Holds::reader);
  // Meanwhile the second commits and leaves the queue.
  holds->Ask(&Holds::sequencer, false);
  ASSERT_TRUE(first.second.get().ok());
  ASSERT_TRUE(second.second.get().ok());
  holds->Ask(&Holds::reader, false);

  auto found = lookup.get();
  ASSERT_TRUE(found.ok()) << found.error().code;
  EXPECT_FALSE(found->pending);
  EXPECT_EQ(found->op.seq, 2u);
  EXPECT_EQ(ledger.GetOperation(std::string(64, '0')).error().code, "tx_not_found");
  auto conserved = ledger.CheckConservation();
  ASSERT_TRUE(conserved.ok()) << conserved.error().message;
  EXPECT_TRUE(conserved->ok) << conserved->ToString();
}

}  // namespace
}  // namespace kray::state
