// The bridge's spends without a node: layout and coin selection, the exact
// virtual size once signed, the Runestone paying rune recipients, the
// signer's content check against every redirection we could think of, and
// which co-signer signatures are kept. Bitcoin Core's view of the same
// transactions (testmempoolaccept, decodepsbt, finalizepsbt) is in
// tests/integration/bitcoind_withdrawals_test.cpp; an independent library's
// in tests/interop.
#include "kray/bridge/spend_tx.h"

#include <gtest/gtest.h>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/sighash.h"
#include "kray/crypto/hash.h"
#include "kray/rollup/batch.h"
#include "kray/testsupport/federation.h"

namespace kray::bridge {
namespace {

const bitcoin::RuneId kDog{840000, 3};

Bytes Wpkh(const std::string& seed) {
  return bitcoin::P2wpkhScript(crypto::HashOf160(AsBytes(seed)));
}

class SpendTxTest : public ::testing::Test {
 protected:
  SpendInput Input(int seed, std::uint32_t index, std::int64_t sats, RuneBalances runes = {}) {
    SpendInput in;
    in.outpoint.txid = crypto::Sha256(AsBytes("utxo" + std::to_string(seed)));
    in.outpoint.n = static_cast<std::uint32_t>(seed % 3);
    in.address_index = index;
    in.sats = sats;
    in.script_pubkey = federation_.Policy(index)->script_pubkey;
    in.runes = std::move(runes);
    return in;
  }
  Bytes Change() { return federation_.Policy(0)->script_pubkey; }
  std::vector<bitcoin::TxOut> Spent(const SpendPlan& plan) {
    std::vector<bitcoin::TxOut> out;
    for (const auto& in : plan.inputs) out.push_back({in.sats, in.script_pubkey});
    return out;
  }
  std::vector<std::uint32_t> Indexes(const SpendPlan& plan) {
    std::vector<std::uint32_t> out;
    for (const auto& in : plan.inputs) out.push_back(in.address_index);
    return out;
  }
  // The plan signed by `members`.
  bitcoin::Psbt Signed(const SpendPlan& plan, std::initializer_list<int> members) {
    auto psbt = MakeSpendPsbt(plan.tx, plan.inputs, federation_);
    EXPECT_TRUE(psbt.ok()) << psbt.error().message;
    for (int m : members) EXPECT_TRUE(SignSpendAsMember(*psbt, members_[m - 1], federation_, Indexes(plan)).ok());
    return *psbt;
  }

  const Federation federation_ = test::TestFederation();
  const std::array<MemberKey, 3> members_ = test::TestMembers();
  const std::vector<Payment> payments_ = {Payment{1, Wpkh("alice"), 60000, std::nullopt},
                                          Payment{2, Wpkh("bob"), 400, kDog}};
};

TEST_F(SpendTxTest, LayoutRunestoneFeeAndExactSignedSize) {
  std::vector<SpendInput> available = {Input(1, 1, 100000), Input(2, 2, 50000), Input(3, 3, 10000, {{kDog, 1000}})};
  auto plan = PlanWithdrawalSpend(payments_, available, Change(), 2000);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& tx = plan->tx;
  ASSERT_EQ(tx.vout.size(), 4u);
  EXPECT_EQ(tx.vout[0].script_pubkey, Change());
  EXPECT_EQ(tx.vout[1].script_pubkey, Wpkh("alice"));
  EXPECT_EQ(tx.vout[1].value, 60000);
  EXPECT_EQ(tx.vout[2].script_pubkey, Wpkh("bob"));
  EXPECT_EQ(tx.vout[2].value, 546);
  EXPECT_EQ(plan->paid, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(plan->dust, 546);
  auto art = bitcoin::DecipherRunestone(tx);
  ASSERT_TRUE(art && std::holds_alternative<bitcoin::Runestone>(*art));
  const auto& stone = std::get<bitcoin::Runestone>(*art);
  ASSERT_EQ(stone.edicts.size(), 1u);
  EXPECT_EQ(stone.edicts[0], (bitcoin::Edict{kDog, 400, 2}));
  EXPECT_EQ(stone.pointer, std::optional<std::uint32_t>(0));  // rune change back to the bridge
  // The rune input is in, first; every input signals RBF.
  EXPECT_EQ(plan->inputs.front().runes.size(), 1u);
  for (const auto& in : tx.vin) EXPECT_EQ(in.sequence, kSpendSequence);
  std::int64_t in_sats = 0, out_sats = 0;
  for (const auto& in : plan->inputs) in_sats += in.sats;
  for (const auto& o : tx.vout) out_sats += o.value;
  EXPECT_EQ(in_sats - out_sats, plan->fee);
  EXPECT_EQ(plan->fee, FeeFor(plan->vsize, 2000));
  EXPECT_GE(tx.vout[0].value, kChangeDustSats);
  EXPECT_TRUE(CheckSpendTransaction(tx, Spent(*plan), Change(), payments_, std::nullopt, plan->fee).ok());
  // Signed by two members and finalized: exactly the size the fee paid for.
  auto psbt = Signed(*plan, {1, 3});
  for (std::size_t i = 0; i < plan->inputs.size(); ++i)
    EXPECT_EQ(*VerifiedSigners(psbt, i, federation_, plan->inputs[i].address_index), (std::vector<int>{1, 3}));
  ASSERT_TRUE(bitcoin::FinalizePsbt(psbt).ok());
  auto final_tx = bitcoin::ExtractTransaction(psbt);
  ASSERT_TRUE(final_tx.ok());
  EXPECT_EQ(bitcoin::TxVsize(*final_tx), plan->vsize);
  EXPECT_EQ(bitcoin::Txid(*final_tx), bitcoin::Txid(tx));
}

TEST_F(SpendTxTest, CoinSelection) {
  // BTC only: the rune-carrying output is left alone while others suffice.
  std::vector<Payment> btc = {payments_[0]};
  auto plan = PlanWithdrawalSpend(btc, {Input(3, 3, 500000, {{kDog, 10}}), Input(1, 1, 100000)}, Change(), 2000);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->inputs.size(), 1u);
  EXPECT_TRUE(plan->inputs[0].runes.empty());
  EXPECT_FALSE(bitcoin::DecipherRunestone(plan->tx).has_value());
  auto poor = PlanWithdrawalSpend(btc, {Input(1, 1, 60500)}, Change(), 2000);
  ASSERT_FALSE(poor.ok());
  EXPECT_EQ(poor.error().code, "bridge_insufficient_funds");
  auto no_runes =
      PlanWithdrawalSpend(payments_, {Input(1, 1, 900000), Input(3, 3, 1000, {{kDog, 399}})}, Change(), 2000);
  ASSERT_FALSE(no_runes.ok());
  EXPECT_EQ(no_runes.error().code, "bridge_insufficient_runes");
  EXPECT_EQ(PlanWithdrawalSpend({}, {Input(1, 1, 900000)}, Change(), 2000).error().code, "spend_no_payments");
  // The Runestone must stay a standard OP_RETURN.
  std::vector<Payment> many;
  for (int i = 0; i < 12; ++i) many.push_back(Payment{static_cast<std::uint64_t>(i + 1), Wpkh("r"), 123456789, kDog});
  EXPECT_FALSE(RunestoneFits(many));
  many.resize(3);
  EXPECT_TRUE(RunestoneFits(many));
}

TEST_F(SpendTxTest, SignerRefusesEveryRedirection) {
  auto plan = PlanWithdrawalSpend(payments_, {Input(1, 1, 100000), Input(3, 3, 10000, {{kDog, 1000}})}, Change(), 2000);
  ASSERT_TRUE(plan.ok());
  const auto spent = Spent(*plan);
  auto check = [&](const bitcoin::Transaction& tx, std::int64_t max_fee = 100000) {
    return CheckSpendTransaction(tx, spent, Change(), payments_, std::nullopt, max_fee);
  };
  ASSERT_TRUE(check(plan->tx).ok());
  auto redirected = plan->tx;
  redirected.vout[1].script_pubkey = Wpkh("mallory");
  EXPECT_EQ(check(redirected).error().code, "spend_tx_mismatch");
  auto extra = plan->tx;
  extra.vout.insert(extra.vout.begin() + 2, bitcoin::TxOut{1000, Wpkh("mallory")});
  EXPECT_FALSE(check(extra).ok());
  auto change_elsewhere = plan->tx;
  change_elsewhere.vout[0].script_pubkey = Wpkh("mallory");
  EXPECT_FALSE(check(change_elsewhere).ok());
  auto more_runes = plan->tx;
  more_runes.vout.back().script_pubkey =
      bitcoin::EncipherRunestone(bitcoin::Runestone{{bitcoin::Edict{kDog, 999, 2}}, std::nullopt, std::nullopt, 0});
  EXPECT_FALSE(check(more_runes).ok());
  auto runes_to_mallory = plan->tx;
  runes_to_mallory.vout.back().script_pubkey =
      bitcoin::EncipherRunestone(bitcoin::Runestone{{bitcoin::Edict{kDog, 400, 2}}, std::nullopt, std::nullopt, 1});
  EXPECT_FALSE(check(runes_to_mallory).ok());  // pointer: the rune change would go to alice
  auto no_stone = plan->tx;
  no_stone.vout.pop_back();
  EXPECT_FALSE(check(no_stone).ok());
  auto second_op_return = plan->tx;
  second_op_return.vout.push_back(bitcoin::TxOut{0, {0x6a, 0x01, 0x00}});
  EXPECT_FALSE(check(second_op_return).ok());
  EXPECT_FALSE(check(plan->tx, plan->fee - 1).ok());  // above the reserve
}

TEST_F(SpendTxTest, OnlyVerifyingMemberSignaturesAreKept) {
  auto plan = PlanWithdrawalSpend({payments_[0]}, {Input(1, 1, 100000)}, Change(), 2000);
  ASSERT_TRUE(plan.ok());
  auto ours = Signed(*plan, {2});
  const auto leaf = federation_.Policy(1)->leaf_hash;
  const auto k3 = federation_.MemberKeys(1)->at(2);
  // Garbage under member 3's key, a 65-byte SIGHASH_ALL signature, a
  // signature by a key outside the federation: none kept.
  auto forged = ours;
  forged.inputs[0].SetTapScriptSig(k3, leaf, Bytes(64, 0x42));
  auto merged = MergeVerifiedSignatures(ours, forged, {1}, federation_);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->added, 0);
  EXPECT_EQ(merged->invalid, 1);
  auto outsider = *crypto::XOnlyFromSecret(crypto::GenerateSecretKey());
  auto foreign = ours;
  foreign.inputs[0].SetTapScriptSig(outsider, leaf, Bytes(64, 0x01));
  EXPECT_EQ(MergeVerifiedSignatures(ours, foreign, {1}, federation_)->invalid, 1);
  // Member 3's real signature over another transaction (another sighash).
  auto other_plan =
      PlanWithdrawalSpend({Payment{1, Wpkh("alice"), 60001, std::nullopt}}, {Input(1, 1, 100000)}, Change(), 2000);
  auto other = Signed(*other_plan, {3});
  auto moved = ours;
  moved.inputs[0].SetTapScriptSig(k3, leaf, other.inputs[0].TapScriptSigs().begin()->second);
  EXPECT_EQ(MergeVerifiedSignatures(ours, moved, {1}, federation_)->added, 0);
  // A co-signer who changed the witness UTXO (a lower amount) signed another
  // sighash: our copy's UTXO is what counts.
  auto lied = MakeSpendPsbt(plan->tx, plan->inputs, federation_);
  lied->inputs[0].SetWitnessUtxo({99000, plan->inputs[0].script_pubkey});
  ASSERT_TRUE(SignSpendAsMember(*lied, members_[2], federation_, {1}).ok());
  EXPECT_EQ(MergeVerifiedSignatures(ours, *lied, {1}, federation_)->added, 0);
  EXPECT_EQ(*VerifiedSigners(ours, 0, federation_, 1), (std::vector<int>{2}));
  // SIGHASH_ALL (65 bytes) is valid for Bitcoin but not what the bridge signs.
  auto all = ours;
  auto sig_all = MakeSpendPsbt(plan->tx, plan->inputs, federation_);
  sig_all->inputs[0].SetSighashType(bitcoin::kSighashAll);
  ASSERT_TRUE(SignSpendAsMember(*sig_all, members_[2], federation_, {1}).ok());
  all.inputs[0].SetTapScriptSig(k3, leaf, sig_all->inputs[0].TapScriptSigs().begin()->second);
  EXPECT_EQ(MergeVerifiedSignatures(ours, all, {1}, federation_)->added, 0);
  // The real one is kept, and a PSBT for another transaction is refused.
  auto good = Signed(*plan, {3});
  merged = MergeVerifiedSignatures(ours, good, {1}, federation_);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->added, 1);
  EXPECT_EQ(*VerifiedSigners(ours, 0, federation_, 1), (std::vector<int>{2, 3}));
  EXPECT_EQ(MergeVerifiedSignatures(ours, other, {1}, federation_).error().code, "psbt_tx_mismatch");
}

TEST_F(SpendTxTest, MemberSigningAndInputIndexes) {
  auto plan = PlanWithdrawalSpend({payments_[0]}, {Input(1, 7, 100000)}, Change(), 2000);
  ASSERT_TRUE(plan.ok());
  auto psbt = MakeSpendPsbt(plan->tx, plan->inputs, federation_);
  ASSERT_TRUE(psbt.ok());
  // Round trip through BIP-174 encoding, and the indexes from key origins.
  auto again = bitcoin::ParsePsbt(bitcoin::SerializePsbt(*psbt));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *psbt);
  EXPECT_EQ(*SpendAddressIndexes(*psbt, federation_), (std::vector<std::uint32_t>{7}));
  auto outsider = *MemberKeyFromMnemonic(
      Network::kRegtest,
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art");
  EXPECT_EQ(MemberNumber(outsider, federation_), 0);
  EXPECT_EQ(SignSpendAsMember(*psbt, outsider, federation_, {7}).error().code, "member_not_in_federation");
  // An input whose UTXO is not the federation's output at that index.
  EXPECT_EQ(SignSpendAsMember(*psbt, members_[0], federation_, {8}).error().code, "psbt_not_a_bridge_spend");
  auto swapped = *psbt;
  swapped.inputs[0].SetWitnessUtxo({100000, Wpkh("mallory")});
  EXPECT_FALSE(SpendAddressIndexes(swapped, federation_).ok());
}

TEST_F(SpendTxTest, ReplacementAndAnchor) {
  auto plan = PlanWithdrawalSpend({payments_[0]}, {Input(1, 1, 100000)}, Change(), 2000);
  ASSERT_TRUE(plan.ok());
  auto bumped = WithFee(plan->tx, plan->inputs, plan->fee + 500);
  ASSERT_TRUE(bumped.ok());
  EXPECT_EQ(bumped->vout[0].value, plan->tx.vout[0].value - 500);
  EXPECT_EQ(bumped->vin, plan->tx.vin);
  EXPECT_NE(bitcoin::Txid(*bumped), bitcoin::Txid(plan->tx));
  EXPECT_EQ(WithFee(plan->tx, plan->inputs, 100000).error().code, "spend_fee_too_high");
  // An anchor takes the smallest rune-free output that pays for it.
  const Bytes script = rollup::AnchorScript(9, crypto::Sha256(AsBytes("s")), crypto::Sha256(AsBytes("t")));
  auto anchor = PlanAnchorSpend(
      script, {Input(1, 1, 900000), Input(2, 2, 20000), Input(4, 4, 800, {}), Input(3, 3, 5000, {{kDog, 5}})}, Change(),
      2000);
  ASSERT_TRUE(anchor.ok()) << anchor.error().message;
  ASSERT_EQ(anchor->inputs.size(), 1u);
  EXPECT_EQ(anchor->inputs[0].sats, 20000);
  ASSERT_EQ(anchor->tx.vout.size(), 2u);
  EXPECT_EQ(anchor->tx.vout[0].script_pubkey, Change());
  EXPECT_EQ(AnchoredBatch(anchor->tx), std::optional<std::uint64_t>(9));
  EXPECT_TRUE(CheckSpendTransaction(anchor->tx, Spent(*anchor), Change(), {}, script, anchor->fee).ok());
  const Bytes other = rollup::AnchorScript(9, crypto::Sha256(AsBytes("x")), crypto::Sha256(AsBytes("t")));
  EXPECT_FALSE(CheckSpendTransaction(anchor->tx, Spent(*anchor), Change(), {}, other, anchor->fee).ok());
}

TEST(CheckSignable, TheSignersRule) {
  Spend spend;
  spend.id = std::string(64, 'a');
  spend.kind = "withdrawals";
  spend.status = "signing";
  Withdrawal w;
  w.id = 1;
  w.deadline = 1000;
  w.status = "signing";
  w.spend_id = spend.id;
  EXPECT_TRUE(CheckSignable(spend, {w}, 1000).ok());
  EXPECT_EQ(CheckSignable(spend, {w}, 999).error().code, "withdrawal_in_challenge_period");
  auto challenged = w;
  challenged.status = "challenged";
  EXPECT_EQ(CheckSignable(spend, {challenged}, 5000).error().code, "withdrawal_frozen");
  auto elsewhere = w;
  elsewhere.spend_id = std::string(64, 'b');
  EXPECT_EQ(CheckSignable(spend, {elsewhere}, 5000).error().code, "spend_not_signable");
  EXPECT_EQ(CheckSignable(spend, {}, 5000).error().code, "spend_not_signable");
  spend.status = "confirmed";
  EXPECT_EQ(CheckSignable(spend, {w}, 5000).error().code, "spend_not_signable");
}

}  // namespace
}  // namespace kray::bridge
