// Withdrawals on the module host, without L1: requests lock value, challenges
// freeze, resolutions release or refund, a batch is accepted only for due,
// unchallenged withdrawals its recorded transaction really pays, and a
// confirmed spend burns exactly what left the bridge. Each rule is played
// by an attacker where there is one (a relay re-pointing the destination, a
// batch before the deadline or paying someone else, a fee above the
// reserve), and `krayd verify` replays all of it and catches edits.
#include <gtest/gtest.h>

#include <fstream>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/spend_tx.h"
#include "kray/bridge/withdrawals.h"
#include "kray/crypto/hash.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/rollup/verify.h"
#include "kray/state/conservation.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "kray/testsupport/keys.h"
#include "kray/testsupport/ops.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

using test::TestKey;

const state::ModuleRegistry& Registry() {
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(BridgeModule()).ok());
    return reg;
  }();
  return r;
}

// Says dev account 2 is an active validator (what the validators module
// will answer through ValidatorFacts).
class Dev2IsValidator : public ValidatorFacts {
 public:
  Result<bool> IsActiveValidator(store::Database&, std::string_view account) const override {
    return account == test::DevAccount(2).account_id;
  }
};

const state::ModuleRegistry& RegistryWithValidator() {
  static const Dev2IsValidator facts;
  static const auto module = MakeBridgeModule(facts);
  static const state::ModuleRegistry r = [] {
    state::ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(*module).ok());
    return reg;
  }();
  return r;
}

std::string Address(const Bytes& script) {
  return *bitcoin::ScriptPubKeyToAddress(script, Network::kRegtest);
}
Bytes WpkhScript(const std::string& seed) {
  auto h = crypto::HashOf160(AsBytes(seed));
  return bitcoin::P2wpkhScript(h);
}

class WithdrawalsTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kPeriod = 600;

  void SetUp() override {
    Open(Genesis(R"({"challenge_period": 600, "fee_account": ")" + test::DevAccount(2).account_id +
                 R"(", "withdrawal_assets": ["BTC", "DOG"]})"));
  }
  void TearDown() override {
    if (!ledger_) return;
    auto rep = ledger_->CheckConservation();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok) << rep->ToString();
    Close();
  }

  // The regtest genesis with a "bridge" section (none if empty).
  std::string Genesis(const std::string& section) {
    std::ifstream in(test::RegtestGenesisPath());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!section.empty()) text.insert(text.rfind('}'), ",\n  \"bridge\": " + section + "\n");
    genesis_ = dir_.file(data_ + "-genesis.json");
    std::ofstream(genesis_) << text;
    return genesis_;
  }

  void Open(const std::string& genesis, std::int64_t clock_offset = 0,
            const state::ModuleRegistry& registry = Registry()) {
    state::LedgerOptions o;
    o.datadir = dir_.file(data_);
    o.genesis_path = genesis;
    o.synchronous = "NORMAL";
    o.clock_offset = clock_offset;
    auto l = state::Ledger::Open(o, registry);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    auto r = rollup::Rollup::Open(*ledger_, rollup::RollupOptions{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    rollup_ = std::move(*r);
  }
  void Close() {
    ledger_.reset();
    rollup_.reset();
  }
  // Time passes: the node restarts with its clock `seconds` ahead.
  void Advance(std::int64_t seconds, const state::ModuleRegistry& registry = Registry()) {
    Close();
    offset_ += seconds;
    Open(genesis_, offset_, registry);
  }

  template <class T, class F>
  T Read(F fn) {
    std::optional<Result<T>> out;
    EXPECT_TRUE(ledger_
                    ->WithReader([&](store::Database& db) -> Status {
                      out.emplace(fn(db));
                      return Ok();
                    })
                    .ok());
    EXPECT_TRUE(out && out->ok()) << (out && !out->ok() ? out->error().message : "");
    return std::move(**out);
  }
  Withdrawal Get(std::uint64_t id) {
    auto w = Read<std::optional<Withdrawal>>([&](store::Database& db) { return FindWithdrawal(db, id); });
    EXPECT_TRUE(w.has_value());
    return w.value_or(Withdrawal{});
  }
  Amount Available(const TestKey& k, const std::string& asset) {
    return ledger_->GetAccount(k.account_id)->BalanceOf(asset).available;
  }

  state::OperationRequest RequestOf(const TestKey& k, const std::string& asset, Amount amount,
                                    const std::string& address) {
    state::OperationRequest r;
    r.type = std::string(kWithdrawalRequestOp);
    r.signer = k.account_id;
    r.nonce = ledger_->GetAccount(k.account_id)->nonce;
    r.fields = {{"credits_amount", std::to_string(amount)}, {"asset", asset}, {"l1_address", address}};
    return r;
  }
  Result<state::Receipt> Request(const TestKey& k, const std::string& asset, Amount amount,
                                 const std::string& address) {
    auto op = test::SignOperation(ledger_->params(), ledger_->registry(), RequestOf(k, asset, amount, address), k);
    if (!op.ok()) return std::move(op).error();
    return ledger_->SubmitSync(std::move(*op));
  }
  Result<state::Receipt> Operator(const std::string& type, state::Fields fields) {
    state::OperationRequest r;
    r.type = type;
    r.auth = state::Auth::kOperator;
    for (auto& [k, v] : fields) r.fields.emplace_back(k, v);
    return ledger_->SubmitRequestSync(r);
  }

  // A transaction paying `outputs` after a change output (consensus does
  // not check the change or the inputs; the signers do).
  bitcoin::Transaction PayingTx(std::vector<bitcoin::TxOut> outputs, int seed = 1) {
    bitcoin::Transaction tx;
    bitcoin::TxIn in;
    in.prevout.txid = crypto::Sha256(AsBytes("funding" + std::to_string(seed)));
    tx.vin.push_back(in);
    tx.vout.push_back(bitcoin::TxOut{50000, WpkhScript("change")});
    for (auto& o : outputs) tx.vout.push_back(std::move(o));
    return tx;
  }
  state::Operation BatchOp(const bitcoin::Transaction& tx, const std::string& ids, Amount reserve, Amount dust = 0) {
    state::Operation op;
    op.type = std::string(kWithdrawalBatchOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"dust", std::to_string(dust)},
                 {"fee_reserve", std::to_string(reserve)},
                 {"spend", bitcoin::HashToDisplayHex(bitcoin::Txid(tx))},
                 {"withdrawals", ids}};
    op.evidence = {{"tx", ToHex(bitcoin::SerializeTransaction(tx))}};
    return op;
  }
  state::Operation ConfirmOp(const std::string& spend, const std::string& txid, Amount fee) {
    state::Operation op;
    op.type = std::string(kSpendConfirmedOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"spend", spend}, {"txid", txid}};
    op.evidence = {
        {"block_hash", ToHex(crypto::Sha256(AsBytes("block")))}, {"fee", std::to_string(fee)}, {"height", "150"}};
    return op;
  }

  // A second chain in the same directory starts with Fresh().
  void Fresh() {
    Close();
    data_ += "-b";
  }

  test::TempDir dir_;
  std::string data_ = "data";
  std::string genesis_;
  std::int64_t offset_ = 0;
  std::unique_ptr<state::Ledger> ledger_;
  std::unique_ptr<rollup::Rollup> rollup_;
  TestKey dev1_ = test::DevAccount(1), dev2_ = test::DevAccount(2);
  const std::string dest_ = Address(WpkhScript("alice"));
};

TEST_F(WithdrawalsTest, RequestLocksAmountAndFeeInTheModule) {
  const Amount btc = Available(dev1_, "BTC"), kray = Available(dev1_, "KRAY");
  auto r = Request(dev1_, "BTC", 100000, dest_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->op->gas_fee, 0u);  // the fee is locked, not charged
  EXPECT_EQ(Available(dev1_, "BTC"), btc - 100000);
  EXPECT_EQ(Available(dev1_, "KRAY"), kray - 100);
  Withdrawal w = Get(1);
  EXPECT_EQ(w.status, "pending");
  EXPECT_EQ(w.deadline, r->op->timestamp + kPeriod);
  EXPECT_EQ(w.l1_address, dest_);
  EXPECT_EQ(w.fee, 100u);
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  for (const auto& line : rep->lines) {
    if (line.asset == "BTC") {
      EXPECT_EQ(line.extra.at("bridge.withdrawals"), 100000u);
    } else if (line.asset == "KRAY") {
      EXPECT_EQ(line.extra.at("bridge.withdrawals"), 100u);
    }
  }
}

TEST_F(WithdrawalsTest, RequestRefusals) {
  auto code = [&](const std::string& asset, Amount amount, const std::string& address) {
    auto r = Request(dev1_, asset, amount, address);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code("BTC", 545, dest_), "withdrawal_too_small");
  EXPECT_EQ(code("BTC", 0, dest_), "invalid_amount");
  EXPECT_EQ(code("KRAY", 1000, dest_), "asset_not_withdrawable");
  EXPECT_EQ(code("BTC", 1000, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"), "invalid_address");
  // A witness v2 program is an address, but its spending rules are unknown.
  Bytes v2 = {0x52, 0x20};
  v2.resize(34, 0x11);
  EXPECT_EQ(code("BTC", 1000, Address(v2)), "unsupported_address_type");
  EXPECT_EQ(code("BTC", 500000000, dest_), "insufficient_balance");
  EXPECT_EQ(ledger_->GetAccount(dev1_.account_id)->nonce, 0u);  // nothing consumed
  // A relay cannot redirect a signed request: the destination is signed.
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), RequestOf(dev1_, "BTC", 1000, dest_), dev1_);
  ASSERT_TRUE(op.ok());
  state::SetField(op->fields, "l1_address", Address(WpkhScript("mallory")));
  auto stolen = ledger_->SubmitSync(std::move(*op));
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.error().code, "invalid_signature");
}

TEST_F(WithdrawalsTest, NoFeeAccountMeansNoWithdrawals) {
  Fresh();
  Open(Genesis(""));
  auto r = Request(dev1_, "BTC", 1000, dest_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "withdrawals_unavailable");
}

TEST_F(WithdrawalsTest, ChallengeFreezesAndResolutionRefundsOrReleases) {
  const Amount btc = Available(dev1_, "BTC"), kray = Available(dev1_, "KRAY");
  ASSERT_TRUE(Request(dev1_, "BTC", 7000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "BTC", 8000, dest_).ok());
  ASSERT_TRUE(Operator("withdrawal_challenge", {{"id", "1"}, {"reason", "looks stolen"}}).ok());
  EXPECT_EQ(Get(1).status, "challenged");
  EXPECT_EQ(Get(1).challenged_by, "operator");
  EXPECT_EQ(Operator("withdrawal_challenge", {{"id", "1"}, {"reason", "again"}}).error().code,
            "withdrawal_not_challengeable");
  EXPECT_EQ(Operator("withdrawal_challenge", {{"id", "9"}, {"reason", "x"}}).error().code, "withdrawal_not_found");
  EXPECT_EQ(Operator("withdrawal_resolve", {{"id", "2"}, {"action", "refund"}}).error().code,
            "withdrawal_not_challenged");
  // A validator challenge needs an active validator (none before the
  // validators module is wired).
  state::OperationRequest vc;
  vc.type = std::string(kWithdrawalValidatorChallengeOp);
  vc.signer = dev2_.account_id;
  vc.nonce = 0;
  vc.fields = {{"id", "2"}, {"reason", "I watch"}};
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), vc, dev2_);
  ASSERT_TRUE(op.ok());
  auto refused = ledger_->SubmitSync(std::move(*op));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "not_an_active_validator");
  // Refund: everything back.
  ASSERT_TRUE(Operator("withdrawal_resolve", {{"id", "1"}, {"action", "refund"}, {"note", "confirmed theft"}}).ok());
  EXPECT_EQ(Get(1).status, "refunded");
  EXPECT_EQ(Available(dev1_, "BTC"), btc - 8000);
  EXPECT_EQ(Available(dev1_, "KRAY"), kray - 100);
  EXPECT_EQ(Operator("withdrawal_resolve", {{"id", "1"}, {"action", "release"}}).error().code,
            "withdrawal_not_challenged");
  // Release: pending again with its deadline.
  ASSERT_TRUE(Operator("withdrawal_challenge", {{"id", "2"}, {"reason", "check"}}).ok());
  ASSERT_TRUE(Operator("withdrawal_resolve", {{"id", "2"}, {"action", "release"}, {"note", "fine"}}).ok());
  EXPECT_EQ(Get(2).status, "pending");
  EXPECT_EQ(Get(2).resolution, "released: fine");
  EXPECT_EQ(Operator("withdrawal_resolve", {{"id", "2"}, {"action", "burn"}}).error().code, "invalid_field");
}

TEST_F(WithdrawalsTest, AnActiveValidatorMayChallenge) {
  Fresh();
  Open(Genesis(R"({"fee_account": ")" + dev2_.account_id + R"("})"), 0, RegistryWithValidator());
  ASSERT_TRUE(Request(dev1_, "BTC", 7000, dest_).ok());
  state::OperationRequest vc;
  vc.type = std::string(kWithdrawalValidatorChallengeOp);
  vc.signer = dev2_.account_id;
  vc.nonce = 0;
  vc.fields = {{"id", "1"}, {"reason", "I watch"}};
  auto op = test::SignOperation(ledger_->params(), ledger_->registry(), vc, dev2_);
  ASSERT_TRUE(op.ok());
  auto r = ledger_->SubmitSync(std::move(*op));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(Get(1).status, "challenged");
  EXPECT_EQ(Get(1).challenged_by, dev2_.account_id);
  // dev1 is not a validator.
  vc.signer = dev1_.account_id;
  vc.nonce = 1;
  auto op1 = test::SignOperation(ledger_->params(), ledger_->registry(), vc, dev1_);
  ASSERT_TRUE(op1.ok());
  EXPECT_EQ(ledger_->SubmitSync(std::move(*op1)).error().code, "not_an_active_validator");
}

TEST_F(WithdrawalsTest, BatchOnlyForDueUnchallengedWithdrawalsItReallyPays) {
  ASSERT_TRUE(Request(dev1_, "BTC", 100000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "BTC", 20000, dest_).ok());
  const auto paying = PayingTx({bitcoin::TxOut{100000, WpkhScript("alice")}});
  // Before the deadline: refused, also on a node that would build it.
  auto early = ledger_->SubmitSync(BatchOp(paying, "1", 5000));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "withdrawal_in_challenge_period");
  Advance(kPeriod + 1);
  // A transaction paying someone else, or less, is not this withdrawal's.
  for (const auto& wrong : {PayingTx({bitcoin::TxOut{100000, WpkhScript("mallory")}}),
                            PayingTx({bitcoin::TxOut{99999, WpkhScript("alice")}}), PayingTx({})}) {
    auto r = ledger_->SubmitSync(BatchOp(wrong, "1", 5000));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_evidence");
  }
  // The spend id is the transaction's txid.
  auto renamed = BatchOp(paying, "1", 5000);
  state::SetField(renamed.fields, "spend", std::string(64, 'a'));
  EXPECT_EQ(ledger_->SubmitSync(std::move(renamed)).error().code, "invalid_evidence");
  // A challenged withdrawal is never batched.
  ASSERT_TRUE(Operator("withdrawal_challenge", {{"id", "2"}, {"reason", "hold"}}).ok());
  const auto both = PayingTx({bitcoin::TxOut{100000, WpkhScript("alice")}, bitcoin::TxOut{20000, WpkhScript("alice")}});
  EXPECT_EQ(ledger_->SubmitSync(BatchOp(both, "1,2", 5000)).error().code, "withdrawal_not_ready");
  EXPECT_EQ(ledger_->SubmitSync(BatchOp(paying, "1,1", 5000)).error().code, "invalid_field");
  // The fee reserve comes from the fee account.
  const Amount fee_account = Available(dev2_, "BTC");
  auto ok = ledger_->SubmitSync(BatchOp(paying, "1", 5000));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(Get(1).status, "signing");
  EXPECT_EQ(Available(dev2_, "BTC"), fee_account - 5000);
  // Past this point the transaction may be broadcast: no challenge, no refund.
  EXPECT_EQ(Operator("withdrawal_challenge", {{"id", "1"}, {"reason", "late"}}).error().code,
            "withdrawal_not_challengeable");
  EXPECT_EQ(ledger_->SubmitSync(BatchOp(paying, "1", 5000)).error().code, "withdrawal_not_ready");
}

TEST_F(WithdrawalsTest, ConfirmationBurnsWhatLeftAndSplitsTheFee) {
  ASSERT_TRUE(Request(dev1_, "BTC", 100000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "DOG", 250000, dest_).ok());
  Advance(kPeriod + 1);
  // The DOG recipient gets the dust output and an edict for its amount.
  bitcoin::Runestone stone;
  stone.edicts.push_back(bitcoin::Edict{bitcoin::RuneId{840000, 3}, 250000, 2});
  stone.pointer = 0;
  auto tx = PayingTx({bitcoin::TxOut{100000, WpkhScript("alice")}, bitcoin::TxOut{546, WpkhScript("alice")},
                      bitcoin::TxOut{0, bitcoin::EncipherRunestone(stone)}});
  EXPECT_EQ(ledger_->SubmitSync(BatchOp(tx, "1,2", 5000, 0)).error().code, "invalid_evidence");  // dust is 546
  const Amount fee_account = Available(dev2_, "BTC");
  ASSERT_TRUE(ledger_->SubmitSync(BatchOp(tx, "1,2", 5000, 546)).ok());
  EXPECT_EQ(Available(dev2_, "BTC"), fee_account - 5546);
  const std::string spend = bitcoin::HashToDisplayHex(bitcoin::Txid(tx));
  auto before = ledger_->CheckConservation();
  ASSERT_TRUE(before.ok() && before->ok);
  EXPECT_EQ(ConfirmOp(spend, spend, 6000).type, std::string(kSpendConfirmedOp));
  EXPECT_EQ(ledger_->SubmitSync(ConfirmOp(spend, spend, 6000)).error().code, "invalid_evidence");  // above reserve
  EXPECT_EQ(ledger_->SubmitSync(ConfirmOp(std::string(64, 'b'), spend, 1)).error().code, "spend_not_found");
  auto done = ledger_->SubmitSync(ConfirmOp(spend, spend, 1200));
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(Get(1).status, "completed");
  EXPECT_EQ(Get(2).status, "completed");
  EXPECT_EQ(Available(dev2_, "BTC"), fee_account - 1200 - 546);  // the rest of the reserve came back
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
  for (const auto& line : rep->lines) {
    const auto& b =
        *std::find_if(before->lines.begin(), before->lines.end(), [&](const auto& l) { return l.asset == line.asset; });
    if (line.asset == "BTC") {
      EXPECT_EQ(line.burned - b.burned, 100000u + 1200 + 546);
    } else if (line.asset == "DOG") {
      EXPECT_EQ(line.burned - b.burned, 250000u);
    } else if (line.asset == "KRAY") {
      EXPECT_EQ(line.burned - b.burned, 100u);  // two fees: half burned each
      EXPECT_EQ(line.fee_pool - b.fee_pool, 100u);
    }
    EXPECT_EQ(line.extra.count("bridge.withdrawals"), 0u) << line.asset;
  }
  EXPECT_EQ(ledger_->SubmitSync(ConfirmOp(spend, spend, 1200)).error().code, "spend_already_confirmed");
}

TEST_F(WithdrawalsTest, AnchorsOnePerBatchWithItsPayload) {
  auto anchor_tx = [&](std::uint64_t batch, int seed) {
    return PayingTx(
        {bitcoin::TxOut{0, rollup::AnchorScript(batch, crypto::Sha256(AsBytes("s")), crypto::Sha256(AsBytes("t")))}},
        seed);
  };
  auto op_for = [&](const bitcoin::Transaction& tx, std::uint64_t batch) {
    state::Operation op;
    op.type = std::string(kAnchorPublishOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"batch", std::to_string(batch)},
                 {"fee_reserve", "3000"},
                 {"spend", bitcoin::HashToDisplayHex(bitcoin::Txid(tx))}};
    op.evidence = {{"tx", ToHex(bitcoin::SerializeTransaction(tx))}};
    return op;
  };
  EXPECT_EQ(ledger_->SubmitSync(op_for(anchor_tx(4, 1), 3)).error().code, "invalid_evidence");
  auto a = ledger_->SubmitSync(op_for(anchor_tx(3, 1), 3));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(ledger_->SubmitSync(op_for(anchor_tx(3, 2), 3)).error().code, "anchor_exists");
  const std::string spend = bitcoin::HashToDisplayHex(bitcoin::Txid(anchor_tx(3, 1)));
  ASSERT_TRUE(ledger_->SubmitSync(ConfirmOp(spend, spend, 700)).ok());
  auto s = Read<std::optional<Spend>>([](store::Database& db) { return AnchorSpendOfBatch(db, 3); });
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, "confirmed");
  EXPECT_EQ(s->fee_paid, 700u);
}

TEST_F(WithdrawalsTest, ReplayReproducesEveryOperationAndCatchesEdits) {
  // Every withdrawal and spend operation, on a chain where dev 2 is an active
  // validator, replayed by `krayd verify` with the same registry.
  const auto& registry = RegistryWithValidator();
  Fresh();
  Open(Genesis(R"({"challenge_period": 600, "fee_account": ")" + dev2_.account_id +
               R"(", "withdrawal_assets": ["BTC", "DOG"]})"),
       0, registry);
  ASSERT_TRUE(Request(dev1_, "BTC", 100000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "BTC", 3000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "BTC", 4000, dest_).ok());
  ASSERT_TRUE(Operator("withdrawal_challenge", {{"id", "2"}, {"reason", "r"}}).ok());
  ASSERT_TRUE(Operator("withdrawal_resolve", {{"id", "2"}, {"action", "refund"}}).ok());
  state::OperationRequest vc;
  vc.type = std::string(kWithdrawalValidatorChallengeOp);
  vc.signer = dev2_.account_id;
  vc.nonce = 0;
  vc.fields = {{"id", "3"}, {"reason", "I watch"}};
  auto vop = test::SignOperation(ledger_->params(), ledger_->registry(), vc, dev2_);
  ASSERT_TRUE(vop.ok());
  ASSERT_TRUE(ledger_->SubmitSync(std::move(*vop)).ok());
  ASSERT_TRUE(Operator("withdrawal_resolve", {{"id", "3"}, {"action", "release"}}).ok());
  Advance(kPeriod + 1, registry);
  const auto tx = PayingTx({bitcoin::TxOut{100000, WpkhScript("alice")}, bitcoin::TxOut{4000, WpkhScript("alice")}});
  const std::string spend = bitcoin::HashToDisplayHex(bitcoin::Txid(tx));
  ASSERT_TRUE(ledger_->SubmitSync(BatchOp(tx, "1,3", 5000)).ok());
  ASSERT_TRUE(ledger_->SubmitSync(ConfirmOp(spend, spend, 900)).ok());
  const auto anchor = PayingTx(
      {bitcoin::TxOut{0, rollup::AnchorScript(1, crypto::Sha256(AsBytes("s")), crypto::Sha256(AsBytes("t")))}}, 7);
  state::Operation publish;
  publish.type = std::string(kAnchorPublishOp);
  publish.auth = state::Auth::kSystem;
  publish.fields = {
      {"batch", "1"}, {"fee_reserve", "3000"}, {"spend", bitcoin::HashToDisplayHex(bitcoin::Txid(anchor))}};
  publish.evidence = {{"tx", ToHex(bitcoin::SerializeTransaction(anchor))}};
  ASSERT_TRUE(ledger_->SubmitSync(std::move(publish)).ok());
  const std::string anchor_spend = bitcoin::HashToDisplayHex(bitcoin::Txid(anchor));
  ASSERT_TRUE(ledger_->SubmitSync(ConfirmOp(anchor_spend, anchor_spend, 400)).ok());
  ASSERT_TRUE(rollup_->Sync().ok());
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  Close();
  const std::string data = dir_.file(data_);
  rollup::VerifyOptions vo;
  auto ok = rollup::VerifyDatadir(data, vo, registry, [](const std::string&) {});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->operations, 11);  // every operation type of withdrawals.h
  // An amount edited behind the node's back.
  {
    auto db = store::Database::Open(data + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE bridge_withdrawals SET amount=99000 WHERE id=1").ok());
  }
  auto bad = rollup::VerifyDatadir(data, vo, registry, [](const std::string&) {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "verify_head_mismatch");
  {
    auto db = store::Database::Open(data + "/krayd.sqlite");
    ASSERT_TRUE((*db)->Exec("UPDATE bridge_withdrawals SET amount=100000 WHERE id=1").ok());
    // A spend's recorded reserve edited: conservation no longer holds and
    // the leaf differs.
    ASSERT_TRUE((*db)->Exec("UPDATE bridge_spends SET fee_reserve=1").ok());
  }
  auto bad2 = rollup::VerifyDatadir(data, vo, registry, [](const std::string&) {});
  ASSERT_FALSE(bad2.ok());
  EXPECT_EQ(bad2.error().code, "verify_head_mismatch");
  ledger_.reset();  // TearDown: nothing to check on an edited store
}

TEST_F(WithdrawalsTest, WithdrawalsAndSpendsThatDisagreeAreConservationViolations) {
  // Module::CheckInvariants: edits that move no amount (so the totals still
  // balance) but break what withdrawals and spends say of each other.
  ASSERT_TRUE(Request(dev1_, "BTC", 100000, dest_).ok());
  ASSERT_TRUE(Request(dev1_, "BTC", 3000, dest_).ok());
  Advance(kPeriod + 1);
  const auto tx = PayingTx({bitcoin::TxOut{100000, WpkhScript("alice")}});
  const std::string spend = bitcoin::HashToDisplayHex(bitcoin::Txid(tx));
  ASSERT_TRUE(ledger_->SubmitSync(BatchOp(tx, "1", 5000)).ok());
  ASSERT_TRUE(ledger_->SubmitSync(ConfirmOp(spend, spend, 900)).ok());
  auto ok = ledger_->CheckConservation();
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->ok) << ok->ToString();
  Close();
  const std::string path = dir_.file(data_) + "/krayd.sqlite";
  auto violations = [&](const std::string& edit, const std::string& undo) {
    auto db = store::Database::Open(path);
    EXPECT_TRUE(db.ok());
    EXPECT_TRUE((*db)->Exec(edit).ok()) << edit;
    auto rep = state::CheckConservation(**db, Registry());
    EXPECT_TRUE(rep.ok()) << rep.error().message;
    EXPECT_TRUE((*db)->Exec(undo).ok()) << undo;
    return rep.ok() && !rep->ok ? rep->ToString() : std::string();
  };
  for (const auto& [edit, undo, why] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"UPDATE bridge_withdrawals SET spend_id='' WHERE id=1",
            "UPDATE bridge_withdrawals SET spend_id='" + spend + "' WHERE id=1", "by no withdrawal spend"},
           {"UPDATE bridge_withdrawals SET spend_id='" + spend + "' WHERE id=2",
            "UPDATE bridge_withdrawals SET spend_id='' WHERE id=2", "yet named by a spend"},
           {"UPDATE bridge_spends SET status='signing'", "UPDATE bridge_spends SET status='confirmed'",
            "disagrees with their spend's"},
           {"UPDATE bridge_spends SET fee_paid=fee_reserve+1", "UPDATE bridge_spends SET fee_paid=900",
            "within the reserve"}}) {
    const std::string report = violations(edit, undo);
    EXPECT_NE(report.find("bridge_withdrawals_inconsistent"), std::string::npos) << edit << "\n" << report;
    EXPECT_NE(report.find(why), std::string::npos) << edit << "\n" << report;
  }
  // Undone: consistent again.
  auto db = store::Database::Open(path);
  ASSERT_TRUE(db.ok());
  auto rep = state::CheckConservation(**db, Registry());
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
}

TEST_F(WithdrawalsTest, GenesisSectionIsChecked) {
  for (const std::string bad :
       {R"({"challenge": 5})", R"({"challenge_period": -1})", R"({"challenge_period": 9999999})",
        R"({"fee_account": "kray_00000000000000000000000000000000"})", R"({"withdrawal_assets": ["NOPE"]})",
        R"({"withdrawal_assets": ["BTC", "BTC"]})", R"({"withdrawal_assets": []})", R"([])"}) {
    test::TempDir d;
    std::ifstream in(test::RegtestGenesisPath());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.insert(text.rfind('}'), ",\n  \"bridge\": " + bad + "\n");
    std::ofstream(d.file("g.json")) << text;
    state::LedgerOptions o;
    o.datadir = d.file("data");
    o.genesis_path = d.file("g.json");
    o.synchronous = "NORMAL";
    auto l = state::Ledger::Open(o, Registry());
    EXPECT_FALSE(l.ok()) << bad;
  }
}

}  // namespace
}  // namespace kray::bridge
