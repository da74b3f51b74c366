#include "kray/state/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <random>
#include <thread>

#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::Legacy;
using testing::Options;
using testing::TempDir;
using testing::V1;

constexpr Amount kGenesisKray = 1000000000;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    ledger_.reset();
    auto l = Ledger::Open(Options(dir_));
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
  }
  Balance Bal(const std::string& who, const std::string& asset = "KRAY") {
    auto a = ledger_->GetAccount(who);
    EXPECT_TRUE(a.ok()) << who;
    return a.ok() ? a->BalanceOf(asset) : Balance{};
  }
  std::uint64_t NonceOf(const std::string& who) { return ledger_->GetAccount(who)->nonce; }
  void ExpectConserved() {
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok()) << rep.error().message;
    EXPECT_TRUE(rep->ok) << rep->ToString();
  }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  Key a_ = Dev1(), b_ = Dev2();
};

TEST_F(LedgerTest, GenesisFundsDevAccounts) {
  auto a = ledger_->GetAccount(a_.address);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->account_id, a_.account_id);
  EXPECT_EQ(a->pubkey_hex, ToHex(a_.pub));
  EXPECT_EQ(a->nonce, 0u);
  EXPECT_EQ(a->BalanceOf("KRAY").available, kGenesisKray);
  EXPECT_EQ(a->BalanceOf("BTC").available, 100000000u);
  EXPECT_EQ(ledger_->GetAccount(b_.account_id)->l1_address, b_.address);  // by id too
  EXPECT_EQ(ledger_->GetAccount("kray_00000000000000000000000000000000").error().code, "account_not_found");
  EXPECT_EQ(ledger_->GetAccount("nonsense").error().code, "invalid_account");
  EXPECT_EQ(ledger_->store_version(), store::StoreVersion());
  EXPECT_EQ(ledger_->genesis_hash().size(), 64u);
  ExpectConserved();
}

TEST_F(LedgerTest, LegacyTransferMovesFundsAndSplitsGas) {
  // from as address, to as id: the signature covers the strings as sent.
  auto r = ledger_->SubmitTransferSync(Legacy(a_, a_.address, b_.account_id, 5000, 0));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, "confirmed");
  EXPECT_EQ(r->from_id, a_.account_id);
  EXPECT_EQ(r->to_id, b_.account_id);
  EXPECT_EQ(r->gas_fee, 1u);
  EXPECT_EQ(r->new_nonce, 1u);
  EXPECT_EQ(r->tx_hash, ToHex(TransferMessageV1("kray-regtest-1", "transfer", a_.account_id, b_.account_id, "KRAY", 5000, 0, "")));
  EXPECT_EQ(Bal(a_.account_id).available, kGenesisKray - 5001);
  EXPECT_EQ(Bal(b_.account_id).available, kGenesisKray + 5000);
  EXPECT_EQ(NonceOf(a_.account_id), 1u);
  auto stats = ledger_->GetTxStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->total, 1u);
  EXPECT_EQ(stats->gas_burned + stats->fee_pool, 1u);  // odd fee: 1 burned, 0 to the pool
  auto tx = ledger_->GetTransaction(r->tx_hash);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->sig_scheme, "legacy");
  EXPECT_EQ(tx->amount, 5000u);
  EXPECT_EQ(ledger_->GetTransaction(std::string(64, '0')).error().code, "tx_not_found");
  ExpectConserved();
}

TEST_F(LedgerTest, GasSplitForEvenFeeAndV1OtherAsset) {
  auto params = ledger_->params();
  TransferTx tx = V1(params, a_, b_.address, "BTC", 1234, 0, "memo");
  tx.type = TxType::kSwap;  // gas 5 -> re-sign
  auto rt = PrepareTransfer(params, tx);
  ASSERT_TRUE(rt.ok());
  tx.signature = *crypto::SchnorrSign(a_.secret, SignedMessage(params, *rt));
  auto r = ledger_->SubmitTransferSync(tx);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gas_fee, 5u);
  EXPECT_EQ(Bal(a_.account_id, "BTC").available, 100000000u - 1234);
  EXPECT_EQ(Bal(b_.account_id, "BTC").available, 100000000u + 1234);
  EXPECT_EQ(Bal(a_.account_id).available, kGenesisKray - 5);
  // Even fee: 2 to the pool... two txs of gas 2 would be even; here 5 -> 3 burned, 2 pool.
  auto st = ledger_->GetTxStats();
  EXPECT_EQ(st->gas_burned, 3u);
  EXPECT_EQ(st->fee_pool, 2u);
  ExpectConserved();
}

TEST_F(LedgerTest, LegacyOnlyForPlainKrayTransfers) {
  TransferTx tx = Legacy(a_, a_.account_id, b_.account_id, 10, 0);
  tx.asset = "BTC";
  auto r = ledger_->SubmitTransferSync(tx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "legacy_signature_not_allowed");
  tx = Legacy(a_, a_.account_id, b_.account_id, 10, 0);
  tx.data = "x";
  EXPECT_EQ(ledger_->SubmitTransferSync(tx).error().code, "legacy_signature_not_allowed");
  EXPECT_EQ(NonceOf(a_.account_id), 0u);
}

TEST_F(LedgerTest, RejectsBadInput) {
  EXPECT_EQ(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 0, 0)).error().code, "invalid_amount");
  EXPECT_EQ(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, a_.address, 5, 0)).error().code, "self_transfer");
  EXPECT_EQ(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, "bc1pxyz", 5, 0)).error().code, "invalid_account");
  // Signed by the wrong key.
  TransferTx tx = Legacy(b_, a_.account_id, b_.account_id, 5, 0);
  auto r = ledger_->SubmitTransferSync(tx);
  EXPECT_EQ(r.error().code, "invalid_signature");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 401);
  // A v1 signature replayed with another amount.
  tx = V1(ledger_->params(), a_, b_.account_id, "KRAY", 5, 0);
  tx.amount = 6;
  EXPECT_EQ(ledger_->SubmitTransferSync(tx).error().code, "invalid_signature");
  // Unknown sender / unknown kray_ recipient: 404.
  Key c = testing::KeyFromSeed("nobody");
  r = ledger_->SubmitTransferSync(Legacy(c, c.account_id, b_.account_id, 5, 0));
  EXPECT_EQ(r.error().code, "account_not_found");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 404);
  r = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, c.account_id, 5, 0));
  EXPECT_EQ(r.error().code, "account_not_found");
  EXPECT_EQ(NonceOf(a_.account_id), 0u);
  ExpectConserved();
}

TEST_F(LedgerTest, NonceRules) {
  ASSERT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 1, 0)).ok());
  auto replay = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 1, 0));
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, "nonce_conflict");
  EXPECT_EQ(HttpStatusFor(replay.error().kind), 409);
  EXPECT_NE(replay.error().message.find("expected 1, got 0"), std::string::npos) << replay.error().message;
  auto gap = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 1, 5));
  EXPECT_EQ(gap.error().code, "nonce_conflict");
  EXPECT_NE(gap.error().message.find("expected 1, got 5"), std::string::npos);
  EXPECT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 1, 1)).ok());
  EXPECT_EQ(NonceOf(a_.account_id), 2u);
  EXPECT_EQ(ledger_->AccountTransactions(a_.address, 10, 0)->size(), 2u);
}

TEST_F(LedgerTest, InsufficientBalanceWritesNothing) {
  auto before_a = ledger_->GetAccount(a_.account_id).value();
  // Exactly the balance: amount + gas exceeds it by 1.
  auto r = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, kGenesisKray, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "insufficient_balance");
  EXPECT_NE(r.error().message.find("gas"), std::string::npos);
  auto after_a = ledger_->GetAccount(a_.account_id).value();
  EXPECT_EQ(after_a.nonce, before_a.nonce);
  EXPECT_EQ(after_a.BalanceOf("KRAY").available, kGenesisKray);
  EXPECT_EQ(ledger_->GetTxStats()->total, 0u);
  // amount + gas == balance is fine.
  EXPECT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, kGenesisKray - 1, 0)).ok());
  EXPECT_EQ(Bal(a_.account_id).available, 0u);
  // Now no KRAY for gas even for a BTC transfer.
  auto btc = ledger_->SubmitTransferSync(V1(ledger_->params(), a_, b_.account_id, "BTC", 1, 1));
  EXPECT_EQ(btc.error().code, "insufficient_balance");
  EXPECT_EQ(Bal(a_.account_id, "BTC").available, 100000000u);
  ExpectConserved();
}

TEST_F(LedgerTest, TransferToNewAddressCreatesKeylessAccount) {
  Key c = testing::KeyFromSeed("fresh-user");
  ASSERT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, c.address, 700, 0)).ok());
  auto acct = ledger_->GetAccount(c.account_id);
  ASSERT_TRUE(acct.ok());
  EXPECT_EQ(acct->l1_address, c.address);
  EXPECT_TRUE(acct->pubkey_hex.empty());
  EXPECT_EQ(acct->BalanceOf("KRAY").available, 700u);
  // It cannot send until a key is bound.
  auto r = ledger_->SubmitTransferSync(Legacy(c, c.account_id, a_.account_id, 10, 0));
  EXPECT_EQ(r.error().code, "pubkey_not_bound");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 401);
  auto bound = ledger_->CreateAccountSync(c.address, ToHex(c.pub));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(bound->pubkey_hex, ToHex(c.pub));
  EXPECT_EQ(bound->BalanceOf("KRAY").available, 700u);
  EXPECT_TRUE(ledger_->SubmitTransferSync(Legacy(c, c.address, a_.account_id, 10, 0)).ok());
  EXPECT_EQ(Bal(c.account_id).available, 689u);
  ExpectConserved();
}

TEST_F(LedgerTest, CreateAccountChecksBip86AndIsIdempotent) {
  Key c = testing::KeyFromSeed("new-account");
  auto r = ledger_->CreateAccountSync(c.address, ToHex(a_.pub));  // someone else's key
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "pubkey_address_mismatch");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
  EXPECT_EQ(ledger_->CreateAccountSync("bc1qnotanaddress", ToHex(c.pub)).error().code, "invalid_address");
  EXPECT_EQ(ledger_->CreateAccountSync(c.address, "zz").error().code, "invalid_pubkey");
  auto first = ledger_->CreateAccountSync(c.address, ToHex(c.pub));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->account_id, c.account_id);
  EXPECT_EQ(first->nonce, 0u);
  auto again = ledger_->CreateAccountSync(c.address, ToHex(c.pub));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created_at, first->created_at);
  // Compressed form of the same key (either parity) is the same x-only key.
  auto comp = crypto::PubKeyFromSecret(c.secret);
  EXPECT_TRUE(ledger_->CreateAccountSync(c.address, ToHex(*comp)).ok());
  // A different key for a bound account: 409 (only reachable below the BIP-86
  // check, since one address has one internal key; checked on the executor).
  Status s = ledger_->SubmitSync("rebind",
                                 [&](WriteContext& ctx, std::int64_t) { return ctx.BindPubkey(c.account_id, ToHex(a_.pub)); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "pubkey_already_bound");
  EXPECT_EQ(ledger_->GetAccount(c.account_id)->pubkey_hex, ToHex(c.pub));
}

TEST_F(LedgerTest, ConcurrentDoubleSpendExactlyOneWins) {
  Key c = testing::KeyFromSeed("third");
  for (int round = 0; round < 20; ++round) {
    std::uint64_t nonce = NonceOf(a_.account_id);
    std::atomic<int> ok{0}, conflict{0};
    std::thread t1([&] {
      auto r = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 10, nonce));
      if (r.ok())
        ++ok;
      else if (r.error().code == "nonce_conflict")
        ++conflict;
    });
    std::thread t2([&] {
      auto r = ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, c.address, 10, nonce));
      if (r.ok())
        ++ok;
      else if (r.error().code == "nonce_conflict")
        ++conflict;
    });
    t1.join();
    t2.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(conflict.load(), 1);
  }
  EXPECT_EQ(NonceOf(a_.account_id), 20u);
  ExpectConserved();
}

TEST_F(LedgerTest, ConcurrentBalanceSpendOnlyWhatExists) {
  // Fund a fresh keyed account with 100, then race two spends of 60.
  Key c = testing::KeyFromSeed("racer");
  ASSERT_TRUE(ledger_->CreateAccountSync(c.address, ToHex(c.pub)).ok());
  ASSERT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, c.account_id, 100, 0)).ok());
  std::atomic<int> ok{0}, poor{0};
  auto spend = [&](std::uint64_t n) {
    auto r = ledger_->SubmitTransferSync(Legacy(c, c.account_id, b_.account_id, 60, n));
    if (r.ok())
      ++ok;
    else if (r.error().code == "insufficient_balance" || r.error().code == "nonce_conflict")
      ++poor;
  };
  std::thread t1(spend, 0), t2(spend, 1);
  t1.join();
  t2.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(poor.load(), 1);
  EXPECT_EQ(Bal(c.account_id).available, 39u);
  ExpectConserved();
}

TEST_F(LedgerTest, BatchGivesEachTxItsOwnResult) {
  std::vector<TransferTx> txs = {Legacy(a_, a_.account_id, b_.account_id, 1, 0), Legacy(a_, a_.account_id, b_.account_id, 2, 0),
                                 Legacy(a_, a_.account_id, b_.account_id, 3, 1), Legacy(b_, b_.account_id, a_.account_id, 0, 0)};
  std::promise<std::vector<Result<Receipt>>> p;
  ledger_->SubmitBatch(txs, [&](std::vector<Result<Receipt>> r) { p.set_value(std::move(r)); });
  auto res = p.get_future().get();
  ASSERT_EQ(res.size(), 4u);
  EXPECT_TRUE(res[0].ok());
  EXPECT_EQ(res[1].error().code, "nonce_conflict");
  EXPECT_TRUE(res[2].ok());
  EXPECT_EQ(res[3].error().code, "invalid_amount");
  EXPECT_LT(res[0]->seq, res[2]->seq);
}

TEST_F(LedgerTest, RestartPreservesStateAndReadsPage) {
  for (std::uint64_t n = 0; n < 5; ++n)
    ASSERT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 100 + n, n)).ok());
  Reopen();
  EXPECT_EQ(NonceOf(a_.account_id), 5u);
  EXPECT_EQ(Bal(b_.account_id).available, kGenesisKray + 510);
  auto page = ledger_->AccountTransactions(b_.account_id, 2, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].amount, 103u);  // newest first, offset 1
  EXPECT_EQ((*page)[1].amount, 102u);
  auto stats = ledger_->GetAccountStats(a_.address);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->sent_count, 5u);
  EXPECT_EQ(stats->gas_spent, 5u);
  EXPECT_EQ(ledger_->ListAccounts(10, 0)->size(), 2u);
  // The next nonce continues after restart.
  EXPECT_TRUE(ledger_->SubmitTransferSync(Legacy(a_, a_.account_id, b_.account_id, 1, 5)).ok());
  ExpectConserved();
}

TEST_F(LedgerTest, ConservationAfterRandomOps) {
  std::vector<Key> keys = {a_, b_};
  for (int i = 0; i < 4; ++i) {
    Key k = testing::KeyFromSeed("rnd" + std::to_string(i));
    ASSERT_TRUE(ledger_->CreateAccountSync(k.address, ToHex(k.pub)).ok());
    keys.push_back(k);
  }
  std::mt19937_64 rng(42);
  std::map<std::string, std::uint64_t> nonces;
  const char* assets[] = {"KRAY", "BTC", "DOG"};
  int ok = 0, failed = 0;
  for (int i = 0; i < 300; ++i) {
    const Key& from = keys[rng() % keys.size()];
    const Key& to = keys[rng() % keys.size()];
    if (from.account_id == to.account_id) continue;
    std::string asset = assets[rng() % 3];
    Amount amount = 1 + rng() % 50000000;
    // Sometimes a wrong nonce, to exercise failures inside groups.
    std::uint64_t nonce = nonces[from.account_id] + (rng() % 10 == 0 ? 1 : 0);
    auto r = ledger_->SubmitTransferSync(V1(ledger_->params(), from, to.account_id, asset, amount, nonce));
    if (r.ok()) {
      ++ok;
      nonces[from.account_id]++;
    } else {
      ++failed;
    }
  }
  EXPECT_GT(ok, 50);
  EXPECT_GT(failed, 5);
  ExpectConserved();
  // Tampering is detected: conservation can fail.
  Status s = ledger_->SubmitSync(
      "tamper", [&](WriteContext& ctx, std::int64_t) { return ctx.Credit(a_.account_id, "KRAY", Bucket::kAvailable, 1); });
  ASSERT_TRUE(s.ok());
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_FALSE(rep->ok) << rep->ToString();
}

}  // namespace
}  // namespace kray::state
