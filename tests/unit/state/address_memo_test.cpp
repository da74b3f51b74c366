// The address memo's two tiers (src/state/request.cpp): an address is
// resolved, and memoised, before the request's signature is checked, so
// what any request resolves may only churn a small tier; the large one
// holds the addresses of committed signed operations. With one tier, a
// caller sending fresh addresses under bad signatures grew krayd's memory
// by ~320 MB (the memo's bound of 16 x 65,536 entries).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kray/state/ledger.h"
#include "kray/state/request.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Key;
using testing::KeyFromSeed;

constexpr std::size_t kRecentBound = 16 * 1024;  // kShards x kRecentPerShard

// Resolves `n` addresses no one has named before.
void ResolveFreshAddresses(const ChainParams& params, const std::string& tag, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = ResolveAccount(params, KeyFromSeed(tag + std::to_string(i)).address);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
}

TEST(AddressMemo, FreshAddressesOnlyChurnTheSmallTier) {
  ChainParams regtest;
  const AddressMemoSize before = AddressMemoEntries();
  ResolveFreshAddresses(regtest, "memo-flood-", static_cast<int>(kRecentBound) + 2000);
  const AddressMemoSize after = AddressMemoEntries();
  EXPECT_LE(after.recent, kRecentBound);
  EXPECT_GT(after.recent, 0u);
  EXPECT_EQ(after.kept, before.kept);
}

class AddressMemoLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = Ledger::Open(testing::Options(dir_), registry_);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
  }
  // A legacy transfer naming both accounts by address, as wallets do.
  Operation SignedTransfer(std::uint64_t nonce) {
    auto op = test::SignOperation(ledger_->params(), ledger_->registry(),
                                  test::TransferRequest(a_.address, fresh_.address, 5, nonce), a_);
    EXPECT_TRUE(op.ok()) << op.error().message;
    return op.ok() ? *op : Operation{};
  }
  std::size_t Kept() const { return AddressMemoEntries().kept; }

  testing::TempDir dir_;
  ModuleRegistry registry_;  // the core module only
  std::unique_ptr<Ledger> ledger_;
  Key a_ = testing::Dev1(), fresh_ = KeyFromSeed("memo-recipient");
};

TEST_F(AddressMemoLedgerTest, OnlyACommittedSignedOperationKeepsItsAddresses) {
  const std::size_t before = Kept();
  Operation forged = SignedTransfer(0);
  forged.signature[0] ^= 1;
  auto refused = ledger_->SubmitSync(forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(HttpStatusFor(refused.error().kind), 401);
  EXPECT_EQ(Kept(), before);
  // Signed, but a nonce ahead: refused by the executor, nothing paid.
  auto ahead = ledger_->SubmitSync(SignedTransfer(3));
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, "nonce_conflict");
  EXPECT_EQ(Kept(), before);

  auto sent = ledger_->SubmitSync(SignedTransfer(0));
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(Kept(), before + 2);  // the sender's address and the recipient's
  // A flood of fresh addresses does not displace them.
  ResolveFreshAddresses(ledger_->params(), "memo-after-", static_cast<int>(kRecentBound) + 2000);
  EXPECT_EQ(Kept(), before + 2);
  testing::ExpectConserved(*ledger_);
}

}  // namespace
}  // namespace kray::state
