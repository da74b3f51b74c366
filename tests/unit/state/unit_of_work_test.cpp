// UnitOfWork's touched leaves (src/state/unit_of_work.h): listed in place
// while an operation touches a few, moved to sets by type past kListed
// (the genesis, a market sweep). Either way the executor gets each leaf
// once, in LeafId order: what an operation records as `touched` and what
// replay compares.
#include "../../../src/state/unit_of_work.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "kray/core/params.h"
#include "kray/state/leaves.h"
#include "kray/state/module.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

class UnitOfWorkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(store::Database::Open(":memory:").value());
    ASSERT_TRUE(registry_.Migrate(*db_).ok());
  }

  // The leaves TouchAndTake(distinct) touches, each once, in LeafId order.
  static std::vector<LeafId> Distinct(std::size_t distinct) {
    std::vector<LeafId> leaves;
    for (std::size_t i = 0; i < distinct; ++i)
      leaves.push_back(LeafId{i % 3 == 0 ? kSupplyLeaf : kAccountLeaf, "leaf-" + std::to_string(i)});
    std::sort(leaves.begin(), leaves.end());
    return leaves;
  }

  // Touches those leaves, each three times, in a shuffled order, and
  // returns what the unit hands over.
  std::vector<LeafId> TouchAndTake(std::size_t distinct) {
    std::vector<LeafId> touches;
    for (const auto& leaf : Distinct(distinct))
      for (int repeat = 0; repeat < 3; ++repeat) touches.push_back(leaf);
    std::mt19937 rng(static_cast<std::uint32_t>(distinct));
    std::shuffle(touches.begin(), touches.end(), rng);
    StateCache group(*db_);
    UnitOfWork u(group, *db_, params_, 1700000000);
    for (auto& leaf : touches) u.Touch(std::move(leaf));
    EXPECT_TRUE(u.Commit().ok());
    std::vector<LeafId> taken;
    u.TakeTouched([&](LeafId&& leaf) { taken.push_back(std::move(leaf)); });
    std::vector<LeafId> again;  // handed over once: the unit forgets them
    u.TakeTouched([&](LeafId&& leaf) { again.push_back(std::move(leaf)); });
    EXPECT_TRUE(again.empty());
    return taken;
  }

  std::unique_ptr<store::Database> db_;
  ModuleRegistry registry_;
  ChainParams params_;
};

TEST_F(UnitOfWorkTest, AFewLeavesAreHandedOverOnceInOrder) {
  for (std::size_t distinct : {std::size_t{1}, std::size_t{3}, std::size_t{8}})
    EXPECT_EQ(TouchAndTake(distinct), Distinct(distinct)) << distinct;
}

TEST_F(UnitOfWorkTest, ManyLeavesAreHandedOverOnceInOrder) {
  for (std::size_t distinct : {std::size_t{9}, std::size_t{40}, std::size_t{1000}})
    EXPECT_EQ(TouchAndTake(distinct), Distinct(distinct)) << distinct;
}

// What a transfer does: the core steps touch the accounts and the gas
// supply again and again, by id (no LeafId built by the caller).
TEST_F(UnitOfWorkTest, ATransfersStepsTouchEachLeafOnce) {
  const std::string a = AccountIdFromAddress("bcrt1p-unit-a"), b = AccountIdFromAddress("bcrt1p-unit-b");
  StateCache group(*db_);
  {
    UnitOfWork genesis(group, *db_, params_, 1700000000);
    ASSERT_TRUE(genesis.CreateAccount("bcrt1p-unit-a", "").ok());
    ASSERT_TRUE(genesis.CreateAccount("bcrt1p-unit-b", "").ok());
    ASSERT_TRUE(genesis.DeclareAsset("KRAY").ok());
    ASSERT_TRUE(genesis.AllocateGenesis(a, "KRAY", 1000).ok());
    ASSERT_TRUE(genesis.Commit().ok());
  }
  UnitOfWork u(group, *db_, params_, 1700000001);
  ASSERT_TRUE(u.Debit(a, "KRAY", Bucket::kAvailable, 10).ok());
  ASSERT_TRUE(u.Credit(b, "KRAY", Bucket::kAvailable, 10).ok());
  ASSERT_TRUE(u.ChargeGas(a, 2).ok());
  ASSERT_TRUE(u.Commit().ok());
  std::vector<LeafId> taken;
  u.TakeTouched([&](LeafId&& leaf) { taken.push_back(std::move(leaf)); });
  std::vector<LeafId> expected = {{kAccountLeaf, a}, {kAccountLeaf, b}, {kSupplyLeaf, "KRAY"}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(taken, expected);
}

}  // namespace
}  // namespace kray::state
