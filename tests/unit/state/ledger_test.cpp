#include "kray/state/ledger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "kray/state/core_module.h"
#include "kray/state/op_context.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::Options;
using testing::TempDir;

constexpr Amount kGenesisKray = 1000000000;

// A test-only module whose operator operations break the rules on purpose,
// to show what the checks catch.
class BackdoorOp : public OperationType {
 public:
  explicit BackdoorOp(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  Auth auth() const override { return Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    std::string account(*op.Field("account"));
    if (name_ == "test_credit_from_nothing") return ctx.Credit(account, "KRAY", Bucket::kAvailable, 1);
    return ctx.BindPubkey(account, std::string(*op.Field("key")));
  }

 private:
  std::string name_;
  static constexpr std::array<FieldSpec, 2> kFields = {
      {{"account", FieldKind::kAccount}, {"key", FieldKind::kPubkey, false}}};
};

class BackdoorModule : public Module {
 public:
  std::string_view name() const override { return "backdoor"; }
  std::vector<const OperationType*> operations() const override { return {&credit_, &rebind_}; }

 private:
  BackdoorOp credit_{"test_credit_from_nothing"}, rebind_{"test_rebind"};
};

const ModuleRegistry& Registry() {
  static const ModuleRegistry r = [] {
    ModuleRegistry reg;
    static BackdoorModule backdoor;
    EXPECT_TRUE(reg.Add(backdoor).ok());
    return reg;
  }();
  return r;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    ledger_.reset();
    auto l = Ledger::Open(Options(dir_), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
  }
  Result<Receipt> Send(const Key& key, const std::string& from, const std::string& to, Amount amount,
                       std::uint64_t nonce, const std::string& asset = "KRAY", const std::string& data = "",
                       const std::string& scheme = "") {
    return testing::Transfer(*ledger_, key, from, to, amount, nonce, asset, data, scheme);
  }
  Result<Receipt> Create(const Key& key, bool sign = false) {
    auto op = test::AccountCreate(ledger_->params(), ledger_->registry(), key, sign);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  Result<Receipt> Operator(const std::string& type, Fields fields) {
    OperationRequest r;
    r.type = type;
    r.auth = Auth::kOperator;
    for (auto& [k, v] : fields) r.fields.emplace_back(k, v);
    return ledger_->SubmitRequestSync(r);
  }
  Balance Bal(const std::string& who, const std::string& asset = "KRAY") {
    auto a = ledger_->GetAccount(who);
    EXPECT_TRUE(a.ok()) << who;
    return a.ok() ? a->BalanceOf(asset) : Balance{};
  }
  std::uint64_t NonceOf(const std::string& who) { return ledger_->GetAccount(who)->nonce; }
  void ExpectConserved() { testing::ExpectConserved(*ledger_); }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  Key a_ = Dev1(), b_ = Dev2();
};

// One Ledger per datadir: a second one (here or in another process) would be
// a second writer with its own caches over the same store.
TEST_F(LedgerTest, ASecondLedgerOnTheSameDatadirIsRefusedUntilTheFirstCloses) {
  auto second = Ledger::Open(Options(dir_), Registry());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "datadir_locked");
  EXPECT_EQ(second.error().kind, ErrorKind::kUnavailable);
  Reopen();  // closing the first releases the lock
}

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
  EXPECT_EQ(ledger_->genesis_hash().size(), 64u);
  EXPECT_EQ(ledger_->GetTxStats()->accounts, 2u);
  EXPECT_EQ(ledger_->GetTxStats()->total, 0u);  // genesis is not an operation
  ExpectConserved();
}

TEST_F(LedgerTest, LegacyTransferMovesFundsAndSplitsGas) {
  // from as address, to as id: the signature covers the strings as sent.
  auto r = Send(a_, a_.address, b_.account_id, 5000, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->scheme, SigScheme::kLegacy);
  EXPECT_EQ(r->op->signer, a_.account_id);
  EXPECT_EQ(r->op->Field("to"), b_.account_id);
  EXPECT_EQ(r->op->Evidence("legacy_signer"), a_.address);
  EXPECT_EQ(r->op->gas_fee, 1u);
  EXPECT_EQ(r->new_nonce, 1u);
  EXPECT_EQ(r->op->seq, 1u);
  // The id is the v1 message of the resolved content, whichever scheme signed it.
  EXPECT_EQ(r->op->hash,
            ToHex(TransferMessageV1("kray-regtest-1", "transfer", a_.account_id, b_.account_id, "KRAY", 5000, 0, "")));
  EXPECT_EQ(Bal(a_.account_id).available, kGenesisKray - 5001);
  EXPECT_EQ(Bal(b_.account_id).available, kGenesisKray + 5000);
  auto stats = ledger_->GetTxStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->total, 1u);
  EXPECT_EQ(stats->by_type["transfer"], 1u);
  EXPECT_EQ(stats->gas_collected, 1u);
  EXPECT_EQ(stats->gas_burned + stats->fee_pool, 1u);  // odd fee: 1 burned, 0 to the pool
  auto found = ledger_->GetOperation(r->op->hash);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->pending);
  EXPECT_EQ(found->op.scheme, SigScheme::kLegacy);
  EXPECT_EQ(found->op.Field("amount"), "5000");
  EXPECT_EQ(found->op.touched.size(), 2u);
  EXPECT_EQ(ledger_->GetOperation(std::string(64, '0')).error().code, "tx_not_found");
  ExpectConserved();
}

TEST_F(LedgerTest, V1TransferOfAnotherAssetPaysGasInKray) {
  auto r = Send(a_, a_.account_id, b_.address, 1234, 0, "BTC", "memo");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->scheme, SigScheme::kV1);
  EXPECT_EQ(Bal(a_.account_id, "BTC").available, 100000000u - 1234);
  EXPECT_EQ(Bal(b_.account_id, "BTC").available, 100000000u + 1234);
  EXPECT_EQ(Bal(a_.account_id).available, kGenesisKray - 1);
  ExpectConserved();
}

TEST_F(LedgerTest, LegacyOnlyForPlainKrayTransfers) {
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 10, 0, "BTC", "", "legacy").error().code,
            "legacy_signature_not_allowed");
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 10, 0, "KRAY", "x", "legacy").error().code,
            "legacy_signature_not_allowed");
  EXPECT_EQ(NonceOf(a_.account_id), 0u);
}

TEST_F(LedgerTest, LegacyCanBeTurnedOff) {
  auto opts = Options(dir_);
  opts.accept_legacy = false;
  ledger_.reset();
  auto l = Ledger::Open(opts, Registry());
  ASSERT_TRUE(l.ok());
  ledger_ = std::move(*l);
  auto r = Send(a_, a_.account_id, b_.account_id, 10, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "legacy_disabled");
  EXPECT_TRUE(Send(a_, a_.account_id, b_.account_id, 10, 0, "KRAY", "", "v1").ok());
}

TEST_F(LedgerTest, RejectsBadInput) {
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 0, 0).error().code, "invalid_amount");
  EXPECT_EQ(Send(a_, a_.account_id, a_.address, 5, 0).error().code, "self_transfer");
  EXPECT_EQ(Send(a_, a_.account_id, "bc1pxyz", 5, 0).error().code, "invalid_account");
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 5, 0, "NOPE").error().code, "unknown_asset");
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 5, 0, "KRAY", std::string(1025, 'x')).error().code, "data_too_long");
  // Signed by the wrong key.
  auto r = Send(b_, a_.account_id, b_.account_id, 5, 0);
  EXPECT_EQ(r.error().code, "invalid_signature");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 401);
  // A v1 signature whose content was changed afterwards.
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(),
                                test::TransferRequest(a_.account_id, b_.account_id, 5, 0, "KRAY", "", "v1"), a_);
  ASSERT_TRUE(op.ok());
  SetField(op->fields, "amount", "6");
  EXPECT_EQ(ledger_->SubmitSync(*op).error().code, "invalid_signature");
  // Unknown sender / unknown kray_ recipient: 404.
  Key c = testing::KeyFromSeed("nobody");
  r = Send(c, c.account_id, b_.account_id, 5, 0);
  EXPECT_EQ(r.error().code, "account_not_found");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 404);
  r = Send(a_, a_.account_id, c.account_id, 5, 0);
  EXPECT_EQ(r.error().code, "account_not_found");
  EXPECT_EQ(NonceOf(a_.account_id), 0u);
  ExpectConserved();
}

// BIP-173: all-lowercase and all-uppercase name the same account; a mixed-case
// string is not an address.
TEST_F(LedgerTest, AddressCaseRules) {
  std::string upper = b_.address;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto r = Send(a_, a_.account_id, upper, 7, 0);  // legacy: signs the uppercase string as sent
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->Field("to"), b_.account_id);
  EXPECT_EQ(r->op->Evidence("legacy_to"), upper);
  std::string mixed = b_.address;
  mixed[5] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[5])));
  EXPECT_EQ(Send(a_, a_.account_id, mixed, 7, 1).error().code, "invalid_account");
  EXPECT_EQ(ledger_->GetAccount(upper)->account_id, b_.account_id);
}

TEST_F(LedgerTest, NonceRules) {
  ASSERT_TRUE(Send(a_, a_.account_id, b_.account_id, 1, 0).ok());
  auto replay = Send(a_, a_.account_id, b_.account_id, 1, 0);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, "nonce_conflict");
  EXPECT_EQ(HttpStatusFor(replay.error().kind), 409);
  EXPECT_NE(replay.error().message.find("expected 1, got 0"), std::string::npos) << replay.error().message;
  auto gap = Send(a_, a_.account_id, b_.account_id, 1, 5);
  EXPECT_EQ(gap.error().code, "nonce_conflict");
  EXPECT_NE(gap.error().message.find("expected 1, got 5"), std::string::npos);
  EXPECT_TRUE(Send(a_, a_.account_id, b_.account_id, 1, 1).ok());
  EXPECT_EQ(NonceOf(a_.account_id), 2u);
  EXPECT_EQ(ledger_->AccountOperations(a_.address, 0, 10, 0)->size(), 2u);
}

TEST_F(LedgerTest, InsufficientBalanceWritesNothing) {
  auto before_a = ledger_->GetAccount(a_.account_id).value();
  // Exactly the balance: amount + gas exceeds it by 1.
  auto r = Send(a_, a_.account_id, b_.account_id, kGenesisKray, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "insufficient_balance");
  EXPECT_NE(r.error().message.find("gas"), std::string::npos);
  auto after_a = ledger_->GetAccount(a_.account_id).value();
  EXPECT_EQ(after_a.nonce, before_a.nonce);
  EXPECT_EQ(after_a.BalanceOf("KRAY").available, kGenesisKray);
  EXPECT_EQ(ledger_->GetTxStats()->total, 0u);
  // amount + gas == balance is fine.
  EXPECT_TRUE(Send(a_, a_.account_id, b_.account_id, kGenesisKray - 1, 0).ok());
  EXPECT_EQ(Bal(a_.account_id).available, 0u);
  // Now no KRAY for gas even for a BTC transfer.
  EXPECT_EQ(Send(a_, a_.account_id, b_.account_id, 1, 1, "BTC").error().code, "insufficient_balance");
  EXPECT_EQ(Bal(a_.account_id, "BTC").available, 100000000u);
  ExpectConserved();
}

// The address a transfer carries to create its recipient must be that
// recipient's canonical address: the v1 signature binds the id only.
TEST_F(LedgerTest, ATransfersToAddressMustBeItsRecipientsCanonicalAddress) {
  Key c = testing::KeyFromSeed("evidence-recipient"), d = testing::KeyFromSeed("evidence-other");
  auto signed_op = test::SignOperation(ledger_->params(), ledger_->registry(),
                                       test::TransferRequest(a_.account_id, c.address, 700, 0, "KRAY", "", "v1"), a_);
  ASSERT_TRUE(signed_op.ok()) << signed_op.error().message;
  ASSERT_EQ(signed_op->Evidence("to_address"), c.address);
  std::string upper = c.address;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
  for (const std::string& named : {d.address, c.account_id, upper}) {
    Operation op = *signed_op;
    op.evidence = {{"to_address", named}};
    auto r = ledger_->SubmitSync(std::move(op));
    ASSERT_FALSE(r.ok()) << named;
    EXPECT_EQ(r.error().code, "invalid_evidence") << named;
  }
  auto sent = ledger_->SubmitSync(std::move(*signed_op));
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(ledger_->GetAccount(c.account_id)->l1_address, c.address);
  ExpectConserved();
}

TEST_F(LedgerTest, TransferToNewAddressCreatesKeylessAccount) {
  Key c = testing::KeyFromSeed("fresh-user");
  auto sent = Send(a_, a_.account_id, c.address, 700, 0);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->op->Evidence("to_address"), c.address);
  auto acct = ledger_->GetAccount(c.account_id);
  ASSERT_TRUE(acct.ok());
  EXPECT_EQ(acct->l1_address, c.address);
  EXPECT_TRUE(acct->pubkey_hex.empty());
  EXPECT_EQ(acct->BalanceOf("KRAY").available, 700u);
  // It cannot send until a key is bound.
  auto r = Send(c, c.account_id, a_.account_id, 10, 0);
  EXPECT_EQ(r.error().code, "pubkey_not_bound");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 401);
  auto bound = Create(c);
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_FALSE(bound->no_change);
  EXPECT_EQ(ledger_->GetAccount(c.account_id)->pubkey_hex, ToHex(c.pub));
  EXPECT_TRUE(Send(c, c.address, a_.account_id, 10, 0).ok());
  EXPECT_EQ(Bal(c.account_id).available, 689u);
  ExpectConserved();
}

TEST_F(LedgerTest, CreateAccountChecksBip86AndIsIdempotent) {
  Key c = testing::KeyFromSeed("new-account");
  OperationRequest bad;
  bad.type = std::string(kAccountCreateOp);
  bad.auth = Auth::kPublic;
  bad.fields = {{"l1_address", c.address}, {"pubkey", ToHex(a_.pub)}};  // someone else's key
  auto r = ledger_->SubmitRequestSync(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "pubkey_address_mismatch");
  EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
  bad.fields = {{"l1_address", "bc1qnotanaddress"}, {"pubkey", ToHex(c.pub)}};
  EXPECT_EQ(ledger_->SubmitRequestSync(bad).error().code, "invalid_address");
  bad.fields = {{"l1_address", c.address}, {"pubkey", "zz"}};
  EXPECT_EQ(ledger_->SubmitRequestSync(bad).error().code, "invalid_pubkey");
  auto first = Create(c);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->op->auth, Auth::kPublic);
  std::uint64_t ops_after_first = ledger_->GetTxStats()->total;
  auto again = Create(c);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->no_change);  // nothing recorded
  EXPECT_EQ(ledger_->GetTxStats()->total, ops_after_first);
  // Compressed form of the same key (either parity) is the same x-only key.
  bad.fields = {{"l1_address", c.address}, {"pubkey", ToHex(*crypto::PubKeyFromSecret(c.secret))}};
  EXPECT_TRUE(ledger_->SubmitRequestSync(bad)->no_change);
  // A different key for a bound account is a 409 (only reachable below the
  // BIP-86 check: one address has one BIP-86 key).
  auto rebind = Operator("test_rebind", {{"account", c.account_id}, {"key", ToHex(a_.pub)}});
  ASSERT_FALSE(rebind.ok());
  EXPECT_EQ(rebind.error().code, "pubkey_already_bound");
  EXPECT_EQ(ledger_->GetAccount(c.account_id)->pubkey_hex, ToHex(c.pub));
}

// A key's point is stored beside it when it is bound (schema/core/004): by
// the genesis, by an account_create of a new account and by one binding a
// keyless account's key; a keyless account has none. The y is the even one
// BIP-340 lifts x to. After a restart the preload reads them.
TEST_F(LedgerTest, ABoundKeysPointIsStoredBesideIt) {
  auto stored_y = [&](const std::string& id) {
    std::optional<Bytes> y;
    EXPECT_TRUE(ledger_
                    ->WithReader([&](store::Database& db) -> Status {
                      auto st = db.Prepare("SELECT y FROM key_points WHERE account_id = ?1");
                      if (!st.ok()) return std::move(st).error();
                      st->Bind(1, id);
                      auto row = st->Step();
                      if (!row.ok()) return std::move(row).error();
                      if (*row) y = st->Blob(0);
                      return Ok();
                    })
                    .ok());
    return y;
  };
  auto even_y = [](const Key& k) {
    auto y = crypto::EvenY(k.pub);
    return Bytes(y->begin(), y->end());
  };
  EXPECT_EQ(stored_y(a_.account_id), even_y(a_));  // the genesis
  Key c = testing::KeyFromSeed("point-keyless"), d = testing::KeyFromSeed("point-new");
  ASSERT_TRUE(Send(a_, a_.account_id, c.address, 5, 0).ok());  // creates c without a key
  EXPECT_FALSE(stored_y(c.account_id).has_value());
  ASSERT_TRUE(Create(c).ok());  // binds c's key
  EXPECT_EQ(stored_y(c.account_id), even_y(c));
  ASSERT_TRUE(Create(d, /*sign=*/true).ok());
  EXPECT_EQ(stored_y(d.account_id), even_y(d));
  Reopen();
  const std::uint64_t genesis_keys = 2;  // the regtest genesis binds the two dev accounts' keys
  for (int i = 0; i < 1000 && ledger_->metrics().keys_preloaded.value() < genesis_keys + 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ledger_->metrics().keys_preloaded_from_points.value(), genesis_keys + 2);
  ASSERT_TRUE(Send(c, c.account_id, a_.account_id, 1, 0).ok());  // c's key from its point
  ExpectConserved();
}

// The documented way: a signed account_create proves possession of the key
// and binds the chain id.
TEST_F(LedgerTest, SignedAccountCreateProvesPossession) {
  Key c = testing::KeyFromSeed("pop");
  auto r = Create(c, /*sign=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->auth, Auth::kSigned);
  EXPECT_EQ(r->op->signer, c.account_id);
  EXPECT_EQ(r->op->gas_fee, 0u);
  EXPECT_EQ(NonceOf(c.account_id), 0u);  // a proof of possession consumes no nonce
  // Signed by another key: refused.
  Key d = testing::KeyFromSeed("pop-2");
  auto op = test::AccountCreate(ledger_->params(), ledger_->registry(), d, true);
  ASSERT_TRUE(op.ok());
  auto forged = test::AccountCreate(ledger_->params(), ledger_->registry(), c, true);  // c's signature
  op->signature = forged->signature;
  EXPECT_EQ(ledger_->SubmitSync(*op).error().code, "invalid_signature");
}

TEST_F(LedgerTest, ConcurrentDoubleSpendExactlyOneWins) {
  Key c = testing::KeyFromSeed("third");
  for (int round = 0; round < 20; ++round) {
    std::uint64_t nonce = NonceOf(a_.account_id);
    std::atomic<int> ok{0}, conflict{0};
    auto spend = [&](const std::string& to) {
      auto r = Send(a_, a_.account_id, to, 10, nonce);
      if (r.ok())
        ++ok;
      else if (r.error().code == "nonce_conflict" || r.error().code == "already_pending")
        ++conflict;
    };
    std::thread t1(spend, b_.account_id), t2(spend, c.address);
    t1.join();
    t2.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(conflict.load(), 1);
  }
  EXPECT_EQ(NonceOf(a_.account_id), 20u);
  ExpectConserved();
}

TEST_F(LedgerTest, SubmitManyGivesEachItsOwnResult) {
  auto sign = [&](const Key& k, const std::string& to, Amount amount, std::uint64_t nonce) {
    return *test::SignOperation(ledger_->params(), ledger_->registry(),
                                test::TransferRequest(k.account_id, to, amount, nonce), k);
  };
  std::vector<Operation> ops = {sign(a_, b_.account_id, 1, 0), sign(a_, b_.account_id, 2, 0),
                                sign(a_, b_.account_id, 3, 1)};
  std::promise<std::vector<Result<Receipt>>> p;
  ledger_->SubmitMany(ops, [&](std::vector<Result<Receipt>> r) { p.set_value(std::move(r)); });
  auto res = p.get_future().get();
  ASSERT_EQ(res.size(), 3u);
  EXPECT_TRUE(res[0].ok());
  EXPECT_EQ(res[1].error().code, "nonce_conflict");
  EXPECT_TRUE(res[2].ok());
  EXPECT_LT(res[0]->op->seq, res[2]->op->seq);
}

TEST_F(LedgerTest, RestartPreservesStateAndHistoryPages) {
  for (std::uint64_t n = 0; n < 5; ++n) ASSERT_TRUE(Send(a_, a_.account_id, b_.account_id, 100 + n, n).ok());
  Reopen();
  EXPECT_EQ(NonceOf(a_.account_id), 5u);
  EXPECT_EQ(Bal(b_.account_id).available, kGenesisKray + 510);
  auto page = ledger_->AccountOperations(b_.account_id, 0, 2, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].Field("amount"), "103");  // newest first, offset 1
  EXPECT_EQ((*page)[1].Field("amount"), "102");
  // Cursor paging: everything before seq 3.
  auto older = ledger_->AccountOperations(b_.account_id, 3, 10, 0);
  ASSERT_TRUE(older.ok());
  ASSERT_EQ(older->size(), 2u);
  EXPECT_EQ((*older)[0].seq, 2u);
  EXPECT_EQ(ledger_->AccountOperations(b_.account_id, 0, 10, 10001).error().code, "invalid_field");
  auto stats = ledger_->GetAccountStats(a_.address);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->sent_count, 5u);
  EXPECT_EQ(stats->tx_count, 5u);
  EXPECT_EQ(stats->gas_spent, 5u);
  EXPECT_EQ(ledger_->ListAccounts(10, "", 0)->size(), 2u);
  EXPECT_EQ(ledger_->ListAccounts(10, a_.account_id < b_.account_id ? a_.account_id : b_.account_id, 0)->size(), 1u);
  // The next nonce continues after restart.
  EXPECT_TRUE(Send(a_, a_.account_id, b_.account_id, 1, 5).ok());
  ExpectConserved();
}

TEST_F(LedgerTest, ConservationAfterRandomOps) {
  std::vector<Key> keys = {a_, b_};
  for (int i = 0; i < 4; ++i) {
    Key k = testing::KeyFromSeed("rnd" + std::to_string(i));
    ASSERT_TRUE(Create(k).ok());
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
    auto r = Send(from, from.account_id, to.account_id, amount, nonce, asset, "", "v1");
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
  // Value from nothing is caught.
  ASSERT_TRUE(Operator("test_credit_from_nothing", {{"account", a_.account_id}}).ok());
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_FALSE(rep->ok) << rep->ToString();
}

// Time never runs backwards in the log, and it is the sequencer's (offset) clock.
TEST_F(LedgerTest, TimestampsComeFromTheSequencerClock) {
  auto opts = Options(dir_);
  opts.clock_offset = 86400 * 10;
  ledger_.reset();
  auto l = Ledger::Open(opts, Registry());
  ASSERT_TRUE(l.ok());
  ledger_ = std::move(*l);
  std::int64_t now = ledger_->Now();
  auto r = Send(a_, a_.account_id, b_.account_id, 1, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->op->timestamp, now);
  EXPECT_GT(r->op->timestamp, ledger_->Now() - 86400);
}

// The hook /metrics reads: group commits and signature checks are measured.
TEST_F(LedgerTest, MetricsCountGroupsAndSignatureChecks) {
  const LedgerMetrics& m = ledger_->metrics();
  ASSERT_TRUE(Send(a_, a_.account_id, b_.account_id, 10, 0).ok());
  ASSERT_TRUE(Send(a_, a_.account_id, b_.account_id, 10, 1).ok());
  // Signed by the wrong key: verified and refused.
  EXPECT_EQ(Send(b_, a_.account_id, b_.account_id, 10, 2).error().code, "invalid_signature");
  EXPECT_EQ(m.signature_verifications.value(), 3u);
  EXPECT_EQ(m.signature_failures.value(), 1u);
  auto groups = m.group_operations.Read();
  EXPECT_EQ(groups.count(), 2u);  // SubmitSync: one operation per group
  EXPECT_DOUBLE_EQ(groups.sum, 2.0);
  EXPECT_EQ(m.commit_seconds.Read().count(), 2u);
  EXPECT_EQ(m.group_seconds.Read().count(), 2u);
  EXPECT_GE(m.group_seconds.Read().sum, m.commit_seconds.Read().sum);
  EXPECT_EQ(m.groups_failed.value(), 0u);
}

// A read that returns a value (Ledger::Read: the API's bridge reads, the
// deposit scanner's and the spend coordinator's) runs again when it
// reports `snapshot_stale`, as WithReader does for a Status; a read stale
// three times over, or failing otherwise, answers with its error.
TEST_F(LedgerTest, AValueReadThatFindsItsSnapshotStaleIsReadAgain) {
  const auto stale = [] { return Error::Unavailable("snapshot_stale", "older than a write-back"); };
  int calls = 0;
  auto once = ledger_->Read<std::int64_t>([&](store::Database& db) -> Result<std::int64_t> {
    if (++calls == 1) return stale();
    return store::QueryInt(db, "SELECT count(*) FROM accounts");
  });
  ASSERT_TRUE(once.ok()) << once.error().code;
  EXPECT_GT(*once, 0);
  EXPECT_EQ(calls, 2);

  calls = 0;
  auto always = ledger_->Read<int>([&](store::Database&) -> Result<int> {
    ++calls;
    return stale();
  });
  ASSERT_FALSE(always.ok());
  EXPECT_EQ(always.error().code, "snapshot_stale");
  EXPECT_EQ(calls, 3);

  calls = 0;
  auto other = ledger_->Read<int>([&](store::Database&) -> Result<int> {
    ++calls;
    return Error::NotFound("nothing_here", "not found");
  });
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "nothing_here");
  EXPECT_EQ(calls, 1);
}

// synchronous=FULL end to end (the tests' ledgers run NORMAL): what was
// answered is in the store after a reopen.
TEST_F(LedgerTest, FullSynchronousAnswersAndReopens) {
  ledger_.reset();
  auto opts = Options(dir_);
  opts.synchronous = "FULL";
  auto l = Ledger::Open(opts, Registry());
  ASSERT_TRUE(l.ok());
  ledger_ = std::move(*l);
  std::vector<std::future<Result<Receipt>>> sent;
  for (std::uint64_t n = 0; n < 50; ++n) {
    auto op = test::SignOperation(ledger_->params(), ledger_->registry(),
                                  test::TransferRequest(a_.account_id, b_.account_id, 1, n), a_);
    ASSERT_TRUE(op.ok());
    auto p = std::make_shared<std::promise<Result<Receipt>>>();
    sent.push_back(p->get_future());
    ledger_->Submit(std::move(*op), [p](Result<Receipt> r) { p->set_value(std::move(r)); });
  }
  for (auto& f : sent) ASSERT_TRUE(f.get().ok());
  Reopen();
  EXPECT_EQ(NonceOf(a_.account_id), 50u);
  ExpectConserved();
}

}  // namespace
}  // namespace kray::state
