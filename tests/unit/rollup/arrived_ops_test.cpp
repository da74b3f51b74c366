// The open batch's arrived operations (src/rollup/arrived_ops.h): a close
// gets them only when they are exactly its range, in order.
#include "../../../src/rollup/arrived_ops.h"

#include <gtest/gtest.h>

namespace kray::rollup {
namespace {

state::Operation Op(std::uint64_t seq, Amount gas) {
  state::Operation op;
  op.seq = seq;
  op.type = "transfer";
  op.hash = std::string(64, 'a');
  op.gas_fee = gas;
  return op;
}

std::vector<std::shared_ptr<const state::Operation>> Group(std::uint64_t first, std::uint64_t last) {
  std::vector<std::shared_ptr<const state::Operation>> g;
  for (auto s = first; s <= last; ++s) g.push_back(std::make_shared<const state::Operation>(Op(s, s * 10)));
  return g;
}

TEST(ArrivedOperations, GroupsThatContinueTheRunAreTakenWhole) {
  ArrivedOperations a;
  a.StartAt(1);
  a.Note(Group(1, 2));
  a.Note(Group(3, 5));
  auto taken = a.Take(1, 5);
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->size(), 5u);
  for (std::uint64_t s = 1; s <= 5; ++s) {
    const auto& e = (*taken)[s - 1];
    EXPECT_EQ(e.record_hash, state::OperationRecordHash(Op(s, s * 10)));
    EXPECT_EQ(e.gas_fee, s * 10);
  }
  EXPECT_FALSE(a.Take(1, 5).has_value());  // taken once
  a.Note(Group(6, 6));                     // the next batch continues after it
  EXPECT_TRUE(a.Take(6, 6).has_value());
}

TEST(ArrivedOperations, ARangeNotExactlyCoveredIsNotTaken) {
  ArrivedOperations a;
  a.StartAt(1);
  a.Note(Group(1, 4));
  EXPECT_FALSE(a.Take(1, 5).has_value());  // one missing at the end
  EXPECT_FALSE(a.Take(1, 3).has_value());  // one more than asked
  EXPECT_FALSE(a.Take(2, 4).has_value());  // the run starts earlier
  EXPECT_TRUE(a.Take(1, 4).has_value());   // kept until then
}

// After a restart the catch-up applies operations without their groups:
// the first group to arrive starts a run the close cannot use.
TEST(ArrivedOperations, AGapStartsANewRun) {
  ArrivedOperations a;
  a.StartAt(7);
  a.Note(Group(9, 10));  // 7 and 8 came through the catch-up
  EXPECT_FALSE(a.Take(7, 10).has_value());
  a.Note(Group(11, 11));
  EXPECT_FALSE(a.Take(7, 11).has_value());
  a.StartAt(12);  // the close read 7..11 from the store
  a.Note(Group(12, 13));
  EXPECT_TRUE(a.Take(12, 13).has_value());
  a.Note(Group(20, 21));  // a gap inside a run
  a.Note(Group(22, 22));
  EXPECT_FALSE(a.Take(14, 22).has_value());
  EXPECT_TRUE(a.Take(20, 22).has_value());
}

}  // namespace
}  // namespace kray::rollup
