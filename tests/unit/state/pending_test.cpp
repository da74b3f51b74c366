// PendingOperations (src/state/pending.h): the index shares the operations
// it lists; a lookup copies what their submitter decided, never what the
// sequencer assigns meanwhile; of two equal operations the latest is found,
// and removing either in any order leaves the index consistent.
#include "../../../src/state/pending.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace kray::state {
namespace {

std::shared_ptr<Operation> Signed(std::string hash, std::uint64_t nonce) {
  auto op = std::make_shared<Operation>();
  op->type = "transfer";
  op->signer = "kray_" + std::string(32, 'a');
  op->nonce = nonce;
  op->scheme = SigScheme::kV1;
  op->signature = Bytes(64, 0x5a);
  op->fields = {{"amount", "5"}, {"to", "kray_" + std::string(32, 'b')}};
  op->hash = std::move(hash);
  op->gas_fee = 3;
  return op;
}

TEST(PendingOperations, ALookupCopiesOnlyWhatTheSubmitterDecided) {
  PendingOperations pending;
  auto op = Signed(std::string(64, '1'), 4);
  pending.Add(op);
  // What the executor assigns, written after the operation was added.
  op->seq = 9;
  op->timestamp = 1700000000;
  op->gas_fee = 8;
  op->touched.push_back(LeafId{1, "x"});

  for (const Operation& found : {*pending.Find(op->hash), pending.Oldest(10).at(0)}) {
    EXPECT_EQ(EncodeSubmittedOperation(found), EncodeSubmittedOperation(*op));
    EXPECT_EQ(found.hash, op->hash);
    EXPECT_EQ(found.seq, 0u);
    EXPECT_EQ(found.timestamp, 0);
    EXPECT_EQ(found.gas_fee, 3u);  // as when it was added
    EXPECT_TRUE(found.touched.empty());
  }
}

TEST(PendingOperations, EqualOperationsRemovedInEitherOrder) {
  const std::string hash(64, '2');
  for (bool first_removed_first : {true, false}) {
    PendingOperations pending;
    const std::uint64_t first = pending.Add(Signed(hash, 1));
    const std::uint64_t second = pending.Add(Signed(hash, 2));  // found: the latest
    EXPECT_EQ(pending.Find(hash)->nonce, 2u);
    EXPECT_EQ(pending.size(), 2u);
    if (first_removed_first) {
      // The index's key was the first's hash until the second replaced it:
      // the first's memory is gone now, and the key must not point into it.
      pending.Remove(first);
      EXPECT_EQ(pending.Find(std::string(64, '2'))->nonce, 2u);
      EXPECT_TRUE(pending.Contains(std::string(64, '2')));
      pending.Remove(second);
    } else {
      pending.Remove(second);
      EXPECT_FALSE(pending.Find(hash));  // as before: the earlier one is listed, not found
      EXPECT_EQ(pending.Oldest(10).size(), 1u);
      pending.Remove(first);
    }
    EXPECT_FALSE(pending.Find(hash));
    EXPECT_FALSE(pending.Contains(hash));
    EXPECT_EQ(pending.size(), 0u);
    EXPECT_TRUE(pending.Oldest(10).empty());
    pending.Remove(first);  // twice: nothing
  }
}

TEST(PendingOperations, OldestInArrivalOrderUpToTheLimit) {
  PendingOperations pending;
  std::uint64_t tickets[5];
  for (int i = 0; i < 5; ++i) tickets[i] = pending.Add(Signed(std::string(64, static_cast<char>('a' + i)), i));
  pending.Remove(tickets[1]);
  auto oldest = pending.Oldest(3);
  ASSERT_EQ(oldest.size(), 3u);
  EXPECT_EQ(oldest[0].nonce, 0u);
  EXPECT_EQ(oldest[1].nonce, 2u);
  EXPECT_EQ(oldest[2].nonce, 3u);
  EXPECT_FALSE(pending.Find(std::string(64, 'b')));
  EXPECT_EQ(pending.Find(std::string(64, 'e'))->nonce, 4u);
}

TEST(PendingOperations, WithoutAHashListedButNotFound) {
  PendingOperations pending;
  const std::uint64_t ticket = pending.Add(Signed("", 6));
  EXPECT_FALSE(pending.Contains(""));
  EXPECT_FALSE(pending.Find(""));
  ASSERT_EQ(pending.Oldest(10).size(), 1u);
  EXPECT_EQ(pending.Oldest(10)[0].nonce, 6u);
  pending.Remove(ticket);
  EXPECT_EQ(pending.size(), 0u);
}

}  // namespace
}  // namespace kray::state
