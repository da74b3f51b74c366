// Stake: validator_register, stake, unstake, validator_unbond (system) and
// validator_claim_rewards (docs/VALIDATORS.md, "Stake" and "Rewards"). Stake
// moves between the staking account's available and staked buckets of KRAY;
// it never leaves the account except by slashing (burned).
#include <array>

#include "kray/core/asset.h"
#include "kray/validators/validators.h"
#include "ops_common.h"
#include "store.h"

namespace kray::validators::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

// Conflict "insufficient_balance" unless the account can lock `amount` and
// pay `gas` (checked first, so the message names the whole need).
Status RequireAvailable(state::OpContext& ctx, std::string_view account, Amount amount, Amount gas) {
  auto bal = ctx.GetBalance(account, kGasAsset);
  if (!bal.ok()) return std::move(bal).error();
  auto need = CheckedAdd(amount, gas);
  if (!need || bal->available < *need)
    return Error::Conflict("insufficient_balance", "insufficient available KRAY balance: need " +
                                                       (need ? std::to_string(*need) : std::string("more")) +
                                                       " (stake " + std::to_string(amount) + " + gas " +
                                                       std::to_string(gas) + "), have " +
                                                       std::to_string(bal->available));
  return Ok();
}

class RegisterOp : public state::OperationType {
 public:
  std::string_view name() const override { return kRegisterOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kStake); }
  // The validator key's proof of possession is checked here, from the
  // record alone (live before queueing, and on replay).
  Status Check(const ChainParams& params, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "stake_amount", "invalid_amount"));
    KRAY_TRY(CheckHexField(op, "validator_signature", 64));
    if (!ValidatorSignatureValid(FieldText(op, "pubkey"), RegistrationMessage(params.chain_id, op.signer),
                                 FieldText(op, "validator_signature")))
      return Error::Unauthorized("invalid_validator_signature",
                                 "validator_signature is not the validator key's signature of the registration "
                                 "message for this account (docs/SIGNING.md, \"Validator messages\")");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    const Amount stake = FieldU64(op, "stake_amount");
    if (stake < config->min_stake)
      return Error::Invalid("stake_below_minimum", "stake_amount " + std::to_string(stake) +
                                                       " is below the minimum stake of " +
                                                       std::to_string(config->min_stake) + " credits");
    const std::string pubkey = FieldText(op, "pubkey");
    auto account = ctx.GetAccount(op.signer);
    if (!account.ok()) return std::move(account).error();
    if (account->pubkey_hex == pubkey)
      return Error::Invalid("validator_key_is_account_key",
                            "the validator key must differ from the staking account's own key");
    auto key = FromHexFixed<32>(pubkey);
    if (!key) return Error::Invalid("invalid_pubkey", "pubkey must be an x-only key");
    Validator v;
    v.validator_id = ValidatorId(*key);
    auto mine = LoadValidatorOfAccount(ctx.Sql(), op.signer);
    if (!mine.ok()) return std::move(mine).error();
    if (mine->has_value())
      return Error::Conflict("account_has_validator", "account " + op.signer + " already registered validator " +
                                                          (*mine)->validator_id + " (use stake to add to it)");
    auto taken = PubkeyRegistered(ctx.Sql(), pubkey);
    if (!taken.ok()) return std::move(taken).error();
    if (*taken) return Error::Conflict("validator_exists", "validator " + v.validator_id + " is already registered");
    KRAY_TRY(RequireAvailable(ctx, op.signer, stake, gas()));
    KRAY_TRY(ctx.Move(op.signer, kGasAsset, state::Bucket::kAvailable, state::Bucket::kStaked, stake));
    v.account_id = op.signer;
    v.pubkey = pubkey;
    v.l1_address = FieldText(op, "l1_address");
    v.stake = stake;
    v.registered_at = ctx.now();
    v.last_active = ctx.now();  // a new validator has one liveness window to come online
    KRAY_TRY(InsertValidator(ctx.Sql(), v));
    ctx.Touch(ValidatorLeaf(v.validator_id));
    ctx.SetResult("validator_id", v.validator_id);
    ctx.SetResult("stake", std::to_string(v.stake));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"l1_address", FieldKind::kAddress},
      {"pubkey", FieldKind::kPubkey},
      {"stake_amount", FieldKind::kAmount},
      {"validator_signature", FieldKind::kText, true, std::nullopt, {}, 128},
  }};
};

class StakeOp : public state::OperationType {
 public:
  std::string_view name() const override { return kStakeOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kStake); }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "amount", "invalid_amount"));
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    auto v = RequireValidatorOfAccount(ctx, op.signer);
    if (!v.ok()) return std::move(v).error();
    const Amount amount = FieldU64(op, "amount");
    KRAY_TRY(RequireAvailable(ctx, op.signer, amount, gas()));
    KRAY_TRY(ctx.Move(op.signer, kGasAsset, state::Bucket::kAvailable, state::Bucket::kStaked, amount));
    const bool was_active = v->Active(*config);
    auto stake = CheckedAdd(v->stake, amount);
    if (!stake) return Error::Conflict("balance_overflow", "stake would overflow");
    v->stake = *stake;
    // Joining the active set again starts a fresh liveness window.
    if (!was_active && v->Active(*config)) v->liveness_reset_at = ctx.now();
    KRAY_TRY(SaveValidator(ctx, *v));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("stake", std::to_string(v->stake));
    ctx.SetResult("active", v->Active(*config) ? "true" : "false");
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"amount", FieldKind::kAmount}}};
};

// Starts unbonding: the amount leaves the bonded stake at once (no longer
// counted for rewards or quorum) but stays in the staked bucket, and still
// slashable, until the unbonding period has passed.
class UnstakeOp : public state::OperationType {
 public:
  std::string_view name() const override { return kUnstakeOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return GasFor(TxType::kUnstake); }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "amount", "invalid_amount"));
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    auto v = RequireValidatorOfAccount(ctx, op.signer);
    if (!v.ok()) return std::move(v).error();
    const Amount amount = FieldU64(op, "amount");
    if (amount > v->stake)
      return Error::Conflict("insufficient_stake", "validator " + v->validator_id + " has " + std::to_string(v->stake) +
                                                       " credits bonded, cannot unstake " + std::to_string(amount));
    Unbonding u;
    auto id = NextUnbondingId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    u.unbonding_id = *id;
    u.validator_id = v->validator_id;
    u.amount = amount;
    u.started_at = ctx.now();
    u.ends_at = ctx.now() + config->unbonding_period;
    KRAY_TRY(InsertUnbonding(ctx.Sql(), u));
    ctx.Touch(UnbondingLeaf(u.unbonding_id));
    v->stake -= amount;
    KRAY_TRY(SaveValidator(ctx, *v));
    ctx.SetResult("unbonding_id", std::to_string(u.unbonding_id));
    ctx.SetResult("ends_at", std::to_string(u.ends_at));
    ctx.SetResult("stake", std::to_string(v->stake));
    ctx.SetResult("active", v->Active(*config) ? "true" : "false");
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"amount", FieldKind::kAmount}}};
};

// System: an unbonding entry whose period has ended; what is left of it
// (after any slashing) goes back to the account's available balance.
class UnbondOp : public state::OperationType {
 public:
  std::string_view name() const override { return kUnbondOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "unbonding_id"));
    if (!op.Evidence("ends_at") || !ParseAmount(*op.Evidence("ends_at")).ok())
      return Error::Invalid("invalid_evidence", "validator_unbond names the end it acts on (ends_at)");
    return OnlyEvidence(op, {"ends_at"});
  }
  // The evidence is checked against the state and the recorded time, so a
  // replay refuses an early or made-up release.
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto u = LoadUnbonding(ctx.Sql(), FieldU64(op, "unbonding_id"));
    if (!u.ok()) return std::move(u).error();
    if (!u->has_value())
      return Error::NotFound("unbonding_not_found", "no unbonding entry " + FieldText(op, "unbonding_id"));
    Unbonding entry = **u;
    if (entry.completed) return Error::Conflict("unbonding_completed", "the unbonding entry was already released");
    if (std::to_string(entry.ends_at) != *op.Evidence("ends_at"))
      return Error::Invalid("invalid_evidence", "ends_at is not the entry's end");
    if (ctx.now() < entry.ends_at) return Error::Conflict("not_due", "the unbonding period has not ended");
    auto v = RequireValidator(ctx, entry.validator_id);
    if (!v.ok()) return std::move(v).error();
    if (entry.amount > 0)
      KRAY_TRY(ctx.Move(v->account_id, kGasAsset, state::Bucket::kStaked, state::Bucket::kAvailable, entry.amount));
    entry.completed = true;
    KRAY_TRY(UpdateUnbonding(ctx.Sql(), entry));
    ctx.Touch(UnbondingLeaf(entry.unbonding_id));
    ctx.SetResult("returned", std::to_string(entry.amount));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"unbonding_id", FieldKind::kUint}}};
};

class ClaimRewardsOp : public state::OperationType {
 public:
  std::string_view name() const override { return kClaimRewardsOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return 1; }
  Status Check(const ChainParams&, const state::Operation& op) const override { return OnlyEvidence(op, {}); }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto v = RequireValidator(ctx, FieldText(op, "validator_id"));
    if (!v.ok()) return std::move(v).error();
    if (v->account_id != op.signer)
      return Error::Conflict("not_validator_account",
                             "validator " + v->validator_id + " belongs to account " + v->account_id);
    if (v->rewards_pending == 0)
      return Error::Conflict("no_rewards", "validator " + v->validator_id + " has no rewards to claim");
    const Amount amount = v->rewards_pending;
    KRAY_TRY(ctx.Credit(op.signer, kGasAsset, state::Bucket::kAvailable, amount));
    auto claimed = CheckedAdd(v->rewards_claimed, amount);
    if (!claimed) return Error::Internal("validators: claimed total overflows");
    v->rewards_claimed = *claimed;
    v->rewards_pending = 0;
    KRAY_TRY(SaveValidator(ctx, *v));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("claimed", std::to_string(amount));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"validator_id", FieldKind::kId, true, std::nullopt, {}, 64}}};
};

}  // namespace

const state::OperationType& RegisterOperation() {
  static const RegisterOp op;
  return op;
}
const state::OperationType& StakeOperation() {
  static const StakeOp op;
  return op;
}
const state::OperationType& UnstakeOperation() {
  static const UnstakeOp op;
  return op;
}
const state::OperationType& UnbondOperation() {
  static const UnbondOp op;
  return op;
}
const state::OperationType& ClaimRewardsOperation() {
  static const ClaimRewardsOp op;
  return op;
}

}  // namespace kray::validators::internal
