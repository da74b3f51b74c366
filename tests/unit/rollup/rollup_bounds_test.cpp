// The bounds on what one open batch and the unfolded heads hold
// (RollupOptions::max_batch_leaves, fold_heads_at_keys): batches closed by
// the leaves they changed, heads folded sooner once many keys wait.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kray/rollup/leaf_rows.h"
#include "kray/rollup/rollup.h"
#include "rollup_fixture.h"

namespace kray::rollup {
namespace {

// maxbatchleaves: the open batch also closes once it has changed that many
// distinct leaves, counted as a check writes its tree; a leaf changed again
// counts once; the count of the open batch survives a restart (read back
// from its rows); 0 is no bound. verify replays each batch as it closed.
TEST_F(RollupTest, ABatchClosesOnceItChangedMaxBatchLeavesLeaves) {
  opts_.max_batch_txs = 1000;
  opts_.persist_interval_ms = 10;
  opts_.persist_min_entries = 1;  // every check writes what changed
  opts_.max_batch_leaves = 5;
  Restart();
  auto written = [&](std::int64_t seq) { return WaitFor([&] { return IndexStatus().applied_seq >= seq; }); };
  auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); };  // ~10 checks
  const TestKey c = test::KeyFromSeed("leaves-c"), d = test::KeyFromSeed("leaves-d");
  // a -> b: three leaves (the two accounts, the fee's supply); again: the same three.
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(written(2));
  settle();
  EXPECT_EQ(IndexStatus().last_batch(), 0) << "three leaves closed a batch of five";
  // Two new accounts: five leaves.
  ASSERT_TRUE(Send(a_, c.address, 1).ok());
  ASSERT_TRUE(written(3));
  settle();
  EXPECT_EQ(IndexStatus().last_batch(), 0) << "four leaves closed a batch of five";
  ASSERT_TRUE(Send(a_, d.address, 1).ok());
  ASSERT_TRUE(WaitFor([&] { return IndexStatus().last_batch() == 1; }));
  auto first = BatchesOverTheWire();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].first.tx_count, 4);
  // The next batch counts from zero; its count is read back after a restart.
  ASSERT_TRUE(Send(a_, b_.account_id, 1).ok());
  ASSERT_TRUE(written(5));
  settle();
  Restart();
  EXPECT_EQ(IndexStatus().last_batch(), 1);
  ASSERT_TRUE(Send(b_, c.address, 1).ok());  // c: a fourth leaf
  ASSERT_TRUE(written(6));
  settle();
  EXPECT_EQ(IndexStatus().last_batch(), 1) << "four leaves closed a batch of five";
  ASSERT_TRUE(Send(b_, d.address, 1).ok());  // d: the fifth
  ASSERT_TRUE(WaitFor([&] { return IndexStatus().last_batch() == 2; }));
  // No bound: many leaves, no close.
  opts_.max_batch_leaves = 0;
  Restart();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Send(a_, test::KeyFromSeed("leaves-" + std::to_string(i)).address, 1).ok());
  ASSERT_TRUE(written(13));
  settle();
  EXPECT_EQ(IndexStatus().last_batch(), 2);
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->batches, 2);
  EXPECT_EQ(v->operations, 13);
  EXPECT_TRUE(ReplayOverTheWire(BatchesOverTheWire()).ok());
}

// The heads are folded sooner than every kFoldHeadsEvery batches once
// fold_heads_at_keys keys wait (a fold is one round of the index thread);
// reads stay what they were.
TEST_F(RollupTest, HeadsAreFoldedSoonerOnceManyKeysWait) {
  opts_.max_batch_txs = 1;
  opts_.fold_heads_at_keys = 6;
  Restart();
  auto heads_through = [&] { return IndexCount("SELECT heads_through FROM rollup_state"); };
  EXPECT_EQ(heads_through(), 0);
  // Each batch: a's leaf, the fee's supply and one new account.
  std::vector<TestKey> made;
  for (int i = 0; i < 4; ++i) {
    made.push_back(test::KeyFromSeed("fold-" + std::to_string(i)));
    ASSERT_TRUE(Send(a_, made.back().address, 1 + i).ok());
    ASSERT_TRUE(rollup_->Sync().ok());
  }
  // Batches 1-3: 3 + 1 + 1 keys; batch 4 makes six: folded through 4, not 8.
  EXPECT_EQ(IndexStatus().last_batch(), 4);
  EXPECT_EQ(heads_through(), 4);
  Restart();
  for (std::int64_t n = 1; n <= 4; ++n) {
    auto p = Prove(made[n - 1].account_id, n);
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto leaf = state::DecodeLeaf(p->leaf_data);
    ASSERT_TRUE(leaf.ok());
    EXPECT_EQ(leaf->account.BalanceOf("KRAY").available, static_cast<Amount>(n));
    if (n > 1) {
      auto before = Prove(made[n - 1].account_id, n - 1);  // not yet created then
      ASSERT_TRUE(before.ok()) << before.error().message;
      EXPECT_TRUE(before->leaf_data.empty());
    }
  }
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->batches, 4);
}

}  // namespace
}  // namespace kray::rollup
