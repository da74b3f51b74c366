// The validators module against a real ledger, rollup index and batch
// recorder: stake really locked, the gas share paid pro rata with exact
// remainders, recording that survives restarts and forged records,
// equivocation and downtime slashing, unbonding (docs/VALIDATORS.md).
#include <atomic>

#include "kray/state/op_log.h"
#include "validators_fixture.h"

namespace kray::validators::testing {
namespace {

std::string Code(const Result<state::Receipt>& r) {
  return r.ok() ? "ok" : r.error().code;
}

TEST_F(ValidatorsTest, RegisterLocksRealStakeAndEveryRuleIsChecked) {
  EXPECT_EQ(Code(Register(a_, v1_, kMinStake - 1)), "stake_below_minimum");
  EXPECT_EQ(Code(Register(a_, a_, kMinStake)), "validator_key_is_account_key");
  // Nobody registers a key they do not hold: the proof of possession is by
  // the validator key, for this staking account.
  auto squat = [&](const std::string& pop) {
    return Code(Do(b_, std::string(kRegisterOp),
                   {{"pubkey", ToHex(v1_.pub)},
                    {"l1_address", v1_.address},
                    {"stake_amount", std::to_string(kMinStake)},
                    {"validator_signature", pop}}));
  };
  EXPECT_EQ(squat(RegistrationSignature(v2_, b_)), "invalid_validator_signature");  // another key
  EXPECT_EQ(squat(RegistrationSignature(v1_, a_)), "invalid_validator_signature");  // for another account
  EXPECT_EQ(squat(std::string(128, 'g')), "invalid_field");
  // A record the account signed with another key's proof in it is refused
  // by the record check that replay runs (rollup/replay.cpp) as well.
  {
    state::OperationRequest r;
    r.type = std::string(kRegisterOp);
    r.signer = b_.account_id;
    r.nonce = 0;
    r.fields = {{"pubkey", ToHex(v1_.pub)},
                {"l1_address", v1_.address},
                {"stake_amount", std::to_string(kMinStake)},
                {"validator_signature", RegistrationSignature(v1_, b_)}};
    auto op = test::SignOperation(ledger_->params(), Registry(), r, b_);
    ASSERT_TRUE(op.ok()) << op.error().message;
    state::SetField(op->fields, "validator_signature", RegistrationSignature(v2_, b_));
    auto msg = state::SignedMessage(ledger_->params(), *Registry().FindOperation(kRegisterOp), *op);
    ASSERT_TRUE(msg.ok());
    auto sig = crypto::SchnorrSign(b_.secret, *msg);
    op->signature.assign(sig->begin(), sig->end());
    Status valid = state::ValidateOperation(ledger_->params(), Registry(), *op);
    ASSERT_FALSE(valid.ok());
    EXPECT_EQ(valid.error().code, "invalid_validator_signature");
  }
  TestKey poor = test::KeyFromSeed("validators-unit-poor");
  ASSERT_TRUE(ledger_->SubmitSync(*test::AccountCreate(ledger_->params(), Registry(), poor)).ok());
  EXPECT_EQ(Code(Register(poor, v2_, kMinStake)), "insufficient_balance");
  EXPECT_EQ(ledger_->GetAccount(a_.account_id)->nonce, 0u);  // refused operations consume nothing

  const state::Balance before = Kray(a_);
  auto r = Register(a_, v1_, kMinStake);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ResultField(*r, "validator_id"), ValidatorId(v1_.pub));
  EXPECT_EQ(r->op->gas_fee, 2u);
  EXPECT_EQ(Kray(a_).available, before.available - kMinStake - 2);
  EXPECT_EQ(Kray(a_).staked, kMinStake);
  EXPECT_EQ(Code(Register(a_, v2_, kMinStake)), "account_has_validator");
  EXPECT_EQ(Code(Register(b_, v1_, kMinStake)), "validator_exists");
  EXPECT_EQ(Code(Do(b_, "stake", {{"amount", "5"}})), "validator_not_found");
  EXPECT_EQ(Code(Do(a_, "stake", {{"amount", "0"}})), "invalid_amount");

  ASSERT_TRUE(Do(a_, "stake", {{"amount", "5"}}).ok());
  EXPECT_EQ(ValidatorNow(v1_).stake, kMinStake + 5);
  EXPECT_EQ(Code(Do(a_, "unstake", {{"amount", std::to_string(kMinStake + 6)}})), "insufficient_stake");
  auto un = Do(a_, "unstake", {{"amount", "6"}});
  ASSERT_TRUE(un.ok()) << un.error().message;
  EXPECT_EQ(ResultField(*un, "unbonding_id"), "1");
  EXPECT_EQ(ResultField(*un, "ends_at"), std::to_string(un->op->timestamp + 604800));
  EXPECT_EQ(ResultField(*un, "active"), "false");
  // Unbonding stake stays locked in the staked bucket until the period ends.
  EXPECT_EQ(Kray(a_).staked, kMinStake + 5);
  EXPECT_EQ(ValidatorNow(v1_).stake, kMinStake - 1);
  auto details = Read([&](store::Database& db) { return Describe(db, Config{}, ValidatorNow(v1_)); });
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->status, ValidatorStatus::kInactive);
  EXPECT_EQ(details->unbonding, 6u);
  // The invariant the module checks: staked == bonded + unbonding.
  auto rep = ledger_->CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->violations.empty()) << rep->ToString();
}

// Batch 1 is recorded with nothing to pay (no previous batch); batch 2's
// 7 credits go to the two attesters of batch 1 pro rata to stake, the odd
// credit to the larger remainder; batch 3 holds only bookkeeping and is not
// recorded; batch 4's record covers it.
TEST_F(ValidatorsTest, GasSharePaidProRataToAttestersOfThePreviousRecordedBatch) {
  ASSERT_TRUE(Register(a_, v1_, kMinStake).ok());
  ASSERT_TRUE(Register(b_, v2_, 2 * kMinStake).ok());
  rollup::BatchHeader b1 = Close();
  auto rec1 = Recorded(1);
  ASSERT_TRUE(rec1);
  EXPECT_EQ(rec1->gas_retained, 2u);  // SplitGas(2) = 1 + 1 per registration
  EXPECT_EQ(rec1->distributed, 0u);
  EXPECT_EQ(rec1->range_first_seq, 1u);
  EXPECT_EQ(rec1->state_root, b1.state_root);
  EXPECT_EQ(rec1->tx_root, b1.tx_root);
  EXPECT_EQ(FeePool(), 2u);

  ASSERT_TRUE(Attest(v1_, 1).ok());
  ASSERT_TRUE(Attest(v2_, 1).ok());
  auto again = Attest(v1_, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->no_change);
  const std::string zero(64, '0');
  EXPECT_EQ(Code(Public("validator_attest", {{"validator_id", ValidatorId(v1_.pub)},
                                             {"batch", "5"},
                                             {"state_root", zero},
                                             {"tx_root", zero},
                                             {"validator_signature", SignAttestation(v1_, 5, zero, zero)}})),
            "batch_not_recorded");
  // Signed by another key, or for other roots than the recorded ones.
  EXPECT_EQ(
      Code(Public("validator_attest", {{"validator_id", ValidatorId(v1_.pub)},
                                       {"batch", "1"},
                                       {"state_root", b1.state_root},
                                       {"tx_root", b1.tx_root},
                                       {"validator_signature", SignAttestation(v2_, 1, b1.state_root, b1.tx_root)}})),
      "invalid_signature");
  EXPECT_EQ(Code(Public("validator_attest", {{"validator_id", ValidatorId(v2_.pub)},
                                             {"batch", "1"},
                                             {"state_root", zero},
                                             {"tx_root", b1.tx_root},
                                             {"validator_signature", SignAttestation(v2_, 1, zero, b1.tx_root)}})),
            "attestation_mismatch");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Do(a_, "stake", {{"amount", "1"}}).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Do(b_, "stake", {{"amount", "2"}}).ok());
  Close();
  auto rec2 = Recorded(2);
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->gas_retained, 7u);
  EXPECT_EQ(rec2->distributed, 7u);
  EXPECT_EQ(rec2->eligible_count, 2u);
  EXPECT_EQ(rec2->eligible_stake, 3 * kMinStake + 3 + 8);
  // 7 * 10000003 / 30000011 = 2 r 9999999; 7 * 20000008 / 30000011 = 4 r 20000012: the odd credit to v2.
  EXPECT_EQ(ValidatorNow(v1_).rewards_pending, 2u);
  EXPECT_EQ(ValidatorNow(v2_).rewards_pending, 5u);
  EXPECT_EQ(FeePool(), 2u);
  EXPECT_EQ(Term("validators.rewards"), 7u);
  EXPECT_EQ(ValidatorNow(v1_).blocks_validated, 1u);

  rollup::BatchHeader b3 = Close();  // only validator_batch(2): not recorded
  EXPECT_FALSE(Recorded(3));
  ASSERT_TRUE(Attest(v1_, 2).ok());
  auto not_recorded = Attest(v2_, 3);
  EXPECT_EQ(Code(not_recorded), "batch_not_recorded");
  ASSERT_TRUE(Do(a_, "stake", {{"amount", "1"}}).ok());
  rollup::BatchHeader b4 = Close();
  auto rec4 = Recorded(4);
  ASSERT_TRUE(rec4);
  EXPECT_EQ(rec4->range_first_seq, static_cast<std::uint64_t>(b3.first_seq));
  EXPECT_EQ(rec4->first_seq, static_cast<std::uint64_t>(b4.first_seq));
  EXPECT_EQ(rec4->gas_retained, 1u);
  EXPECT_EQ(rec4->eligible_count, 1u);  // only v1 attested batch 2
  EXPECT_EQ(ValidatorNow(v1_).rewards_pending, 3u);

  // Claims: only the validator's account, only what is there.
  EXPECT_EQ(Code(Do(b_, "validator_claim_rewards", {{"validator_id", ValidatorId(v1_.pub)}})), "not_validator_account");
  const Amount avail = Kray(a_).available;
  auto claim = Do(a_, "validator_claim_rewards", {{"validator_id", ValidatorId(v1_.pub)}});
  ASSERT_TRUE(claim.ok()) << claim.error().message;
  EXPECT_EQ(ResultField(*claim, "claimed"), "3");
  EXPECT_EQ(Kray(a_).available, avail + 3 - 1);
  EXPECT_EQ(ValidatorNow(v1_).rewards_claimed, 3u);
  EXPECT_EQ(Code(Do(a_, "validator_claim_rewards", {{"validator_id", ValidatorId(v1_.pub)}})), "no_rewards");
  EXPECT_EQ(Term("validators.rewards"), 5u);

  // Quorum: v1 (10000004) of 30000012 active attested batch 2: below 2/3.
  auto q2 = Read([&](store::Database& db) { return AttestationsOf(db, 2, 10); });
  ASSERT_TRUE(q2.ok());
  EXPECT_EQ(q2->count, 1u);
  EXPECT_EQ(q2->attested_stake, kMinStake + 4);
  EXPECT_FALSE(q2->quorum_reached);
  auto q1 = Read([&](store::Database& db) { return AttestationsOf(db, 1, 10); });
  EXPECT_TRUE(q1->quorum_reached);
  EXPECT_EQ(q1->attested_stake, q1->active.stake);
  auto uptime = Read([&](store::Database& db) { return Describe(db, Config{}, ValidatorNow(v2_)); });
  EXPECT_EQ(uptime->uptime.attested, 1u);
  EXPECT_EQ(uptime->uptime.batches, 3u);  // 1, 2 and 4 were recorded
  EXPECT_EQ(UptimePercent(uptime->uptime), "33.33");
}

// A chain without validators sees no record (and no operation of the
// recorder); the first record covers its own batch only.
TEST_F(ValidatorsTest, NothingIsRecordedBeforeTheFirstValidator) {
  for (std::uint64_t n = 0; n < 3; ++n) {
    auto op = test::SignOperation(ledger_->params(), Registry(),
                                  test::TransferRequest(a_.account_id, b_.account_id, 10, n), a_);
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(ledger_->SubmitSync(std::move(*op)).ok());
  }
  Close();
  EXPECT_FALSE(Recorded(1));
  EXPECT_EQ(ledger_->GetTxStats()->by_type["validator_batch"], 0u);
  ASSERT_TRUE(Register(a_, v1_, kMinStake).ok());
  rollup::BatchHeader b2 = Close();
  auto rec2 = Recorded(2);
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->range_first_seq, static_cast<std::uint64_t>(b2.first_seq));
  EXPECT_EQ(rec2->gas_retained, 1u);
  EXPECT_FALSE(Recorded(1));
}

// A batch that closes while a catch-up round runs (after it read the
// latest closed batch, before it asked whether any validator exists) is not
// recorded either: CI once saw batch 1 recorded on a chain without
// validators when the recorder's thread ran a round across the close.
TEST_F(ValidatorsTest, ABatchClosingDuringACatchUpIsNotRecordedWithoutAValidator) {
  recorder_.reset();
  std::atomic<bool> closed{false};
  std::atomic<bool> fired{false};
  recorder_ = BatchRecorder::Start(*ledger_, *rollup_, [&] {
    if (fired.exchange(true)) return;
    for (std::uint64_t n = 0; n < 3; ++n) {
      auto op = test::SignOperation(ledger_->params(), Registry(),
                                    test::TransferRequest(a_.account_id, b_.account_id, 10, n), a_);
      ASSERT_TRUE(op.ok());
      ASSERT_TRUE(ledger_->SubmitSync(std::move(*op)).ok());
    }
    ledger_->Flush();
    auto b = rollup_->CloseBatchNow();
    EXPECT_TRUE(b.ok() && b->has_value());
    closed = true;
  });
  ASSERT_TRUE(WaitFor([&] { return closed.load(); }));
  ASSERT_TRUE(recorder_->CatchUp().ok());  // waits for the round the close ran in
  ledger_->Flush();
  EXPECT_FALSE(Recorded(1));
  EXPECT_EQ(ledger_->GetTxStats()->by_type["validator_batch"], 0u);
}

TEST_F(ValidatorsTest, RecordingSurvivesRestartsWithoutSkippingOrPayingTwice) {
  ASSERT_TRUE(Register(a_, v1_, kMinStake).ok());
  Close();
  ASSERT_TRUE(Attest(v1_, 1).ok());
  // The node stops recording (as if it stopped between a batch close and
  // its record); two batches close meanwhile.
  recorder_.reset();
  ASSERT_TRUE(Do(a_, "stake", {{"amount", "1"}}).ok());
  ASSERT_TRUE(Do(a_, "stake", {{"amount", "1"}}).ok());
  ledger_->Flush();
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  ASSERT_TRUE(Do(a_, "stake", {{"amount", "1"}}).ok());
  ledger_->Flush();
  ASSERT_TRUE(rollup_->CloseBatchNow().ok());
  EXPECT_FALSE(Recorded(2));
  Open(0);  // the recorder catches up on start
  ASSERT_TRUE(WaitFor([&] { return Recorded(3).has_value(); }));
  EXPECT_EQ(Recorded(2)->distributed, 2u);  // to v1, who attested batch 1
  EXPECT_EQ(Recorded(3)->distributed, 0u);  // nobody attested batch 2: kept in the fee pool
  EXPECT_EQ(Recorded(3)->gas_retained, 1u);
  const Validator paid = ValidatorNow(v1_);
  EXPECT_EQ(paid.rewards_pending, 2u);
  // Again, and a second recorder: nothing more is recorded or paid.
  ASSERT_TRUE(recorder_->CatchUp().ok());
  auto second = BatchRecorder::Start(*ledger_, *rollup_);
  ASSERT_TRUE(second->CatchUp().ok());
  second.reset();
  EXPECT_EQ(ValidatorNow(v1_).rewards_pending, 2u);
  EXPECT_EQ(ledger_->GetTxStats()->by_type["validator_batch"], 3u);

  // Records the node did not make are refused, from the stores alone.
  auto h2 = *Header(2);
  auto submit = [&](std::uint64_t batch, std::uint64_t first, std::uint64_t last, Amount gas, std::string state_root,
                    std::string tx_root) {
    state::Operation op;
    op.type = std::string(kBatchOp);
    op.auth = state::Auth::kSystem;
    op.fields = {{"batch", std::to_string(batch)},
                 {"first_seq", std::to_string(first)},
                 {"gas_retained", std::to_string(gas)},
                 {"last_seq", std::to_string(last)}};
    op.evidence = {{"state_root", std::move(state_root)}, {"tx_root", std::move(tx_root)}};
    return Code(ledger_->SubmitSync(std::move(op)));
  };
  const std::string zero(64, '0');
  auto h2_first = static_cast<std::uint64_t>(h2.first_seq), h2_last = static_cast<std::uint64_t>(h2.last_seq);
  EXPECT_EQ(submit(2, h2_first, h2_last, 2, zero, h2.tx_root), "batch_recorded_differently");
  EXPECT_EQ(submit(2, h2_first, h2_last, 2, h2.state_root, h2.tx_root), "ok");  // a repeat: no change
  EXPECT_EQ(submit(9, h2_first, h2_last, 2, h2.state_root, h2.tx_root), "batch_out_of_order");
  auto staked = Do(a_, "stake", {{"amount", "1"}});
  ASSERT_TRUE(staked.ok());
  const std::uint64_t last = staked->op->seq;
  auto recorded_op = Read([&](store::Database& db) { return state::OperationsInRange(db, last, last); });
  ASSERT_TRUE(recorded_op.ok() && recorded_op->size() == 1u);
  const std::string tx_root = ToHex(rollup::OperationsTxRoot(*recorded_op));
  EXPECT_EQ(submit(9, last, last, 1, zero, zero), "invalid_evidence");                      // not the log's tx root
  EXPECT_EQ(submit(9, last, last, 0, zero, tx_root), "invalid_evidence");                   // not the log's gas share
  EXPECT_EQ(submit(9, last, last + 5, 1, zero, tx_root), "batch_ops_missing");              // operations not in the log
  EXPECT_EQ(submit(0, last, last, 1, zero, tx_root), "invalid_field");                      // batch 0
  EXPECT_EQ(submit(9, last, last - 1, 1, zero, tx_root), "invalid_field");                  // last before first
  EXPECT_EQ(submit(9, last, last, 1, "AB" + zero.substr(2), tx_root), "invalid_evidence");  // not lowercase hex
  EXPECT_EQ(ValidatorNow(v1_).rewards_pending, 2u);
}

TEST_F(ValidatorsTest, EquivocationIsSlashedOnceOnProvenEvidence) {
  ASSERT_TRUE(Register(a_, v1_, 2 * kMinStake).ok());
  ASSERT_TRUE(Register(b_, v2_, kMinStake).ok());
  ASSERT_TRUE(Do(a_, "unstake", {{"amount", "1001"}}).ok());
  const std::string x(64, '1'), y(64, '2'), z(64, '3');
  auto evidence = [&](const TestKey& signer_a, const TestKey& signer_b, std::uint64_t batch, const std::string& ra,
                      const std::string& rb) -> FieldList {
    return {{"validator_id", ValidatorId(v1_.pub)},
            {"batch", std::to_string(batch)},
            {"state_root_a", ra},
            {"tx_root_a", z},
            {"signature_a", SignAttestation(signer_a, batch, ra, z)},
            {"state_root_b", rb},
            {"tx_root_b", z},
            {"signature_b", SignAttestation(signer_b, batch, rb, z)}};
  };
  EXPECT_EQ(Code(Do(b_, "validator_equivocation", evidence(v1_, v1_, 7, x, x))), "not_equivocation");
  EXPECT_EQ(Code(Do(b_, "validator_equivocation", evidence(v1_, v2_, 7, x, y))), "invalid_evidence");
  FieldList unknown = evidence(v1_, v1_, 7, x, y);
  unknown[0].second = ValidatorId(test::KeyFromSeed("nobody").pub);
  EXPECT_EQ(Code(Do(b_, "validator_equivocation", unknown)), "validator_not_found");

  const Amount burned = Burned(), staked = Kray(a_).staked;
  auto slash = Do(b_, "validator_equivocation", evidence(v1_, v1_, 7, x, y));
  ASSERT_TRUE(slash.ok()) << slash.error().message;
  // 50% of the bonded 19998999 (rounded down) and of the 1001 unbonding.
  const Amount expected = (2 * kMinStake - 1001) / 2 + 1001 / 2;
  EXPECT_EQ(ResultField(*slash, "slashed"), std::to_string(expected));
  EXPECT_EQ(Burned(), burned + expected + 1);  // and the reporter's gas of 1, burned whole (SplitGas)
  EXPECT_EQ(Kray(a_).staked, staked - expected);
  EXPECT_EQ(ValidatorNow(v1_).stake, 2 * kMinStake - 1001 - (2 * kMinStake - 1001) / 2);
  EXPECT_EQ(ValidatorNow(v1_).slashed, expected);
  // The same offence again, or with the two sides swapped: refused.
  EXPECT_EQ(Code(Do(b_, "validator_equivocation", evidence(v1_, v1_, 7, x, y))), "already_slashed");
  EXPECT_EQ(Code(Do(a_, "validator_equivocation", evidence(v1_, v1_, 7, y, x))), "already_slashed");
  // Another batch number is another offence.
  auto second = Do(b_, "validator_equivocation", evidence(v1_, v1_, 8, x, y));
  ASSERT_TRUE(second.ok());
  auto slashes = Read([&](store::Database& db) { return SlashesOf(db, ValidatorId(v1_.pub), 10); });
  ASSERT_EQ(slashes->size(), 2u);
  EXPECT_EQ((*slashes)[0].kind, SlashKind::kEquivocation);
  EXPECT_EQ((*slashes)[0].batch, 8u);
  auto rep = ledger_->CheckConservation();
  EXPECT_TRUE(rep->ok) << rep->ToString();
}

// Liveness: registration opens a window; a heartbeat or an attestation keeps
// a validator live; past the window an active validator loses 10% once per
// window; one that fell below the minimum is no longer in the active set.
TEST_F(ValidatorsTest, DowntimeSlashesTenPercentOncePerWindow) {
  ASSERT_TRUE(Register(a_, v1_, kMinStake).ok());
  ASSERT_TRUE(Register(b_, v2_, 3 * kMinStake).ok());
  const auto now = static_cast<std::uint64_t>(ledger_->Now());
  EXPECT_EQ(Code(Heartbeat(v2_, now - 1000)), "heartbeat_out_of_window");
  auto hb = Heartbeat(v2_, now);
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  EXPECT_EQ(Code(Heartbeat(v2_, now + 10)), "heartbeat_too_soon");
  auto forged =
      crypto::SchnorrSign(v1_.secret, HeartbeatMessage(ledger_->params().chain_id, ValidatorId(v2_.pub), now + 61));
  EXPECT_EQ(Code(Public("validator_heartbeat", {{"validator_id", ValidatorId(v2_.pub)},
                                                {"at", std::to_string(now + 61)},
                                                {"validator_signature", ToHex(*forged)}})),
            "invalid_signature");
  const Amount burned = Burned();

  Open(kDay + 100);
  ASSERT_TRUE(WaitFor([&] { return ValidatorNow(v1_).slashed > 0 && ValidatorNow(v2_).slashed > 0; }));
  EXPECT_EQ(ValidatorNow(v1_).slashed, kMinStake / 10);
  EXPECT_EQ(ValidatorNow(v1_).stake, kMinStake - kMinStake / 10);
  EXPECT_EQ(Kray(a_).staked, kMinStake - kMinStake / 10);
  EXPECT_EQ(ValidatorNow(v2_).slashed, 3 * kMinStake / 10);
  EXPECT_EQ(Burned(), burned + kMinStake / 10 + 3 * kMinStake / 10);
  // Once per window: nothing more while the new window runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(ValidatorNow(v2_).slashed, 3 * kMinStake / 10);
  auto slashes = Read([&](store::Database& db) { return SlashesOf(db, ValidatorId(v2_.pub), 10); });
  ASSERT_EQ(slashes->size(), 1u);
  EXPECT_EQ((*slashes)[0].kind, SlashKind::kDowntime);

  Open(2 * kDay + 500);  // another window: v2 (active) again, v1 (below the minimum) not
  ASSERT_TRUE(WaitFor([&] { return ValidatorNow(v2_).slashed > 3 * kMinStake / 10; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(ValidatorNow(v1_).slashed, kMinStake / 10);
  const Amount left = 3 * kMinStake - 3 * kMinStake / 10;
  EXPECT_EQ(ValidatorNow(v2_).stake, left - left / 10);
  // A heartbeat keeps it live from now.
  auto live = Heartbeat(v2_, static_cast<std::uint64_t>(ledger_->Now()));
  ASSERT_TRUE(live.ok()) << live.error().message;
  EXPECT_EQ(ValidatorNow(v2_).last_active, live->op->timestamp);
}

TEST_F(ValidatorsTest, UnbondingReturnsStakeWhenThePeriodEnds) {
  ASSERT_TRUE(Register(a_, v1_, 2 * kMinStake).ok());
  // Below the minimum at once: inactive, so no downtime slash meanwhile.
  auto un = Do(a_, "unstake", {{"amount", std::to_string(kMinStake + 1)}});
  ASSERT_TRUE(un.ok());
  const Amount available = Kray(a_).available;
  Open(7 * kDay - 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Kray(a_).available, available);  // not yet
  Open(7 * kDay + 10);
  ASSERT_TRUE(WaitFor([&] { return Kray(a_).available == available + kMinStake + 1; }));
  EXPECT_EQ(Kray(a_).staked, kMinStake - 1);
  auto entries = Read([&](store::Database& db) { return UnbondingOf(db, ValidatorId(v1_.pub), 10); });
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_TRUE((*entries)[0].completed);
  // The rest, and the validator has exited.
  ASSERT_TRUE(Do(a_, "unstake", {{"amount", std::to_string(kMinStake - 1)}}).ok());
  Open(14 * kDay + 100);
  ASSERT_TRUE(WaitFor([&] { return Kray(a_).staked == 0; }));
  auto d = Read([&](store::Database& db) { return Describe(db, Config{}, ValidatorNow(v1_)); });
  EXPECT_EQ(d->status, ValidatorStatus::kExited);
  EXPECT_EQ(ledger_->GetTxStats()->by_type["validator_unbond"], 2u);
}

// docs/ROLLUP.md: the validator, recorded batch and attestation leaves, byte
// for byte.
TEST_F(ValidatorsTest, LeafLayoutsAreTheDocumentedOnes) {
  auto reg = Register(a_, v1_, kMinStake);
  ASSERT_TRUE(reg.ok());
  rollup::BatchHeader b1 = Close();
  ASSERT_TRUE(Attest(v1_, 1).ok());
  const Validator v = ValidatorNow(v1_);
  auto leaf = [&](std::uint8_t type, const std::string& id) {
    return Read([&](store::Database& db) { return Registry().FindLeafType(type)->encode(db, id); });
  };
  auto u64 = [](Bytes& out, std::uint64_t x) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
  };
  auto lp = [](Bytes& out, const std::string& s) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(s.size() >> (8 * i)));
    out.insert(out.end(), s.begin(), s.end());
  };
  Bytes want{0x51};
  lp(want, v.validator_id);
  lp(want, a_.account_id);
  want.insert(want.end(), v1_.pub.begin(), v1_.pub.end());
  lp(want, v1_.address);
  for (std::uint64_t x :
       {std::uint64_t{kMinStake}, std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{0},
        static_cast<std::uint64_t>(v.registered_at), static_cast<std::uint64_t>(v.last_active), std::uint64_t{0},
        std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1}})
    u64(want, x);
  auto got = leaf(kValidatorLeaf, v.validator_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(ToHex(**got), ToHex(want));

  auto rec = Recorded(1);
  Bytes batch{0x52};
  for (std::uint64_t x : {std::uint64_t{1}, std::uint64_t{1}, std::uint64_t{1}, std::uint64_t{1}}) u64(batch, x);
  for (const auto& root : {b1.state_root, b1.tx_root}) {
    auto raw = *FromHex(root);
    batch.insert(batch.end(), raw.begin(), raw.end());
  }
  for (std::uint64_t x : {std::uint64_t{1}, std::uint64_t{0}, std::uint64_t{0}, std::uint64_t{0},
                          static_cast<std::uint64_t>(rec->recorded_at)})
    u64(batch, x);
  auto got_batch = leaf(kBatchLeaf, "1");
  ASSERT_TRUE(got_batch.ok() && got_batch->has_value());
  EXPECT_EQ(ToHex(**got_batch), ToHex(batch));

  auto att = Read([&](store::Database& db) { return AttestationsBy(db, v.validator_id, 0, 1); });
  ASSERT_EQ(att->size(), 1u);
  Bytes attestation{0x53};
  lp(attestation, v.validator_id);
  u64(attestation, 1);
  for (const auto& hex : {b1.state_root, b1.tx_root, (*att)[0].signature}) {
    auto raw = *FromHex(hex);
    attestation.insert(attestation.end(), raw.begin(), raw.end());
  }
  u64(attestation, static_cast<std::uint64_t>((*att)[0].attested_at));
  auto got_att = leaf(kAttestationLeaf, v.validator_id + ":1");
  ASSERT_TRUE(got_att.ok() && got_att->has_value());
  EXPECT_EQ(ToHex(**got_att), ToHex(attestation));
  // Ids that name nothing are absent, never an error.
  for (const char* id : {"0", "01", "x", "val_x:1", ":1", "val_x:"}) {
    EXPECT_TRUE(leaf(kBatchLeaf, id).ok());
    EXPECT_FALSE(leaf(kAttestationLeaf, id)->has_value()) << id;
  }
}

}  // namespace
}  // namespace kray::validators::testing
