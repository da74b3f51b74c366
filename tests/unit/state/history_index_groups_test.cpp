// The history index taking the sequencer's committed groups from memory
// (src/state/history_index_groups.cpp) instead of reading the log back:
// what it takes, what it leaves to the log, and that it answers as an index
// that read the whole log does.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "history_index_fixture.h"

namespace kray::state {
namespace {

using history_test::HistoryIndexTest;
using history_test::kNever;

// Six transfers a -> b in the log (seqs 1..6), the ledger closed, and an
// index that read them all from the log (`from_log_`). Each test hands the
// committed groups to an index of its own that has not started, as the
// sequencer would, and compares its answers with `from_log_`'s.
class HistoryFromGroupsTest : public HistoryIndexTest {
 protected:
  void SetUp() override {
    Open();
    for (std::uint64_t n = 0; n < 6; ++n) sent_.push_back(Send(100 + n, n));
    ledger_.reset();
    from_log_ = OpenIndex("from_log.sqlite");
    ASSERT_TRUE(from_log_);
    ASSERT_NO_FATAL_FAILURE(StartAndWait(*from_log_));
    ASSERT_EQ(from_log_->read_from_log(), 6u);
  }
  std::unique_ptr<HistoryIndex> OpenIndex(const std::string& file) {
    auto index = HistoryIndex::Open(dir_.file(file), dir_.file("data") + "/krayd.sqlite", kNever);
    EXPECT_TRUE(index.ok()) << index.error().message;
    return index.ok() ? std::move(*index) : nullptr;
  }
  // A new index at `file` handed `groups` before its start: it takes
  // `taken` operations from them and reads `from_log` from the log, and
  // answers as from_log_ does.
  void ExpectIndexed(const std::vector<std::shared_ptr<const GroupChanges>>& groups, std::uint64_t taken,
                     std::uint64_t from_log, const std::string& file = "from_groups.sqlite") {
    auto index = OpenIndex(file);
    ASSERT_TRUE(index);
    for (const auto& g : groups) index->OnGroupCommitted(g);
    ASSERT_NO_FATAL_FAILURE(StartAndWait(*index));
    EXPECT_EQ(index->taken_from_groups(), taken);
    EXPECT_EQ(index->read_from_log(), from_log);
    ExpectSameAnswers(*index, *from_log_);
  }
  // The sent operations [first, last) as one committed group, with the
  // leaves they changed and their keys as the sequencer lists them (or
  // without: the index then makes the keys itself).
  std::shared_ptr<const GroupChanges> Group(std::size_t first, std::size_t last, bool with_leaves = true) const {
    auto g = std::make_shared<GroupChanges>();
    for (std::size_t i = first; i < last; ++i) {
      g->operations.push_back(sent_[i].op);
      for (const auto& leaf : sent_[i].op->touched) {
        const bool listed =
            std::any_of(g->leaves.begin(), g->leaves.end(), [&](const LeafChange& c) { return c.id == leaf; });
        if (with_leaves && !listed) g->leaves.push_back(LeafChange{leaf, LeafKey(leaf.type, leaf.id), std::nullopt});
      }
    }
    return g;
  }
  // Starts the index; its first pass ends with everything written.
  static void StartAndWait(HistoryIndex& index) {
    index.Start();
    for (int i = 0; i < 500 && index.indexed_seq() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(index.indexed_seq(), 6u);
  }
  // The index answers every read as one that read the whole log does.
  void ExpectSameAnswers(HistoryIndex& index, HistoryIndex& from_log) {
    for (const auto& r : sent_) {
      const Hash256 id = *FromHexFixed<32>(r.op->hash);
      auto found = index.FindHash(id), expected = from_log.FindHash(id);
      ASSERT_TRUE(found.ok() && expected.ok());
      EXPECT_EQ(found->seqs, expected->seqs);
      EXPECT_EQ(found->seqs, std::vector<std::uint64_t>{r.op->seq});
    }
    for (const auto& who : {a_.account_id, b_.account_id, c_}) {
      const Hash256 key = AccountKey(who);
      EXPECT_EQ(index.AccountSeqs(key, 0, 10)->seqs, from_log.AccountSeqs(key, 0, 10)->seqs) << who;
      EXPECT_EQ(index.CountAccount(key)->count, from_log.CountAccount(key)->count) << who;
    }
    EXPECT_EQ(index.AccountSeqs(AccountKey(b_.account_id), 0, 10)->seqs,
              (std::vector<std::uint64_t>{6, 5, 4, 3, 2, 1}));
  }
  std::vector<Receipt> sent_;
  std::unique_ptr<HistoryIndex> from_log_;
};

// Groups that continue the index's position are taken from memory, not
// read back from the log, and index the same rows.
TEST_F(HistoryFromGroupsTest, GroupsThatContinueThePositionAreNotReadFromTheLog) {
  ExpectIndexed({Group(0, 2), Group(2, 4, /*with_leaves=*/false), Group(4, 6)}, 6, 0);
}

// After a gap (groups the index never got) it reads the log, from its own
// position: nothing is skipped, nothing taken twice.
TEST_F(HistoryFromGroupsTest, AGapIsReadFromTheLog) {
  ExpectIndexed({Group(0, 2), Group(4, 6)}, 2, 4);  // 3 and 4 missing
}

// Past kMaxArrivedOperations waiting, the groups are dropped (the index is
// behind) and the log read instead: memory stays bounded.
TEST_F(HistoryFromGroupsTest, TooManyWaitingGroupsAreDroppedForTheLog) {
  const std::vector groups(HistoryIndex::kMaxArrivedOperations / 6 + 1, Group(0, 6));
  ExpectIndexed(groups, 0, 6);
}

// A null or empty change set only wakes the thread.
TEST_F(HistoryFromGroupsTest, AnEmptyChangeSetOnlyWakesTheThread) {
  ExpectIndexed({nullptr, std::make_shared<GroupChanges>()}, 0, 6);
}

// A group the index has already taken (handed twice) is skipped, not a gap.
TEST_F(HistoryFromGroupsTest, AGroupAlreadyTakenIsSkipped) {
  ExpectIndexed({Group(0, 2), Group(0, 2), Group(2, 6)}, 6, 0);
}

// A group whose operations do not follow one another, or whose id is not
// hex, is not taken: the log decides, from the last group taken.
TEST_F(HistoryFromGroupsTest, AGroupThatIsNotWhatTheLogHoldsIsReadFromTheLog) {
  auto out_of_order = std::make_shared<GroupChanges>(*Group(2, 5));
  std::swap(out_of_order->operations[1], out_of_order->operations[2]);  // seqs 3, 5, 4
  ExpectIndexed({Group(0, 2), out_of_order, Group(5, 6)}, 2, 4, "out_of_order.sqlite");
  auto bad_id = std::make_shared<GroupChanges>(*Group(2, 5));
  auto op = std::make_shared<Operation>(*bad_id->operations[1]);
  op->hash = std::string(64, 'z');
  bad_id->operations[1] = op;
  ExpectIndexed({Group(0, 2), bad_id, Group(5, 6)}, 2, 4, "bad_id.sqlite");
}

}  // namespace
}  // namespace kray::state
