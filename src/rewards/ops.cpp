// The rewards module's operations: reward_award (operator), reward_claim
// (signed by the rewarded account) and reward_expire (system)
// (docs/REWARDS.md). A reward's amount leaves the treasury's available
// balance when it is awarded and is held by the module until it is claimed
// (to the account) or expires (back to the treasury).
#include "ops.h"

#include <array>

#include "kray/core/asset.h"
#include "kray/rewards/rewards.h"
#include "kray/state/op_context.h"
#include "store.h"

namespace kray::rewards::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

constexpr std::size_t kMaxIdLen = 64;

std::uint64_t FieldU64(const state::Operation& op, std::string_view key) {
  auto a = ParseAmount(op.Field(key).value_or(""));
  return a.ok() ? *a : 0;
}
std::string FieldText(const state::Operation& op, std::string_view key) {
  return std::string(op.Field(key).value_or(""));
}

Status OnlyEvidence(const state::Operation& op, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : op.evidence) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok)
      return Error::Invalid("invalid_evidence", "operation '" + op.type + "' carries unexpected evidence '" + k + "'");
  }
  return Ok();
}

// The fields each type takes besides account_id, amount and memo.
struct TypeFields {
  bool achievement_id = false, game_id = false, placement = false, referred_account = false;
};
TypeFields FieldsOf(RewardType t) {
  switch (t) {
    case RewardType::kAchievement:
      return {true, false, false, false};
    case RewardType::kTournament:
      return {false, true, true, false};
    case RewardType::kReferral:
      return {false, false, false, true};
    case RewardType::kDaily:
    case RewardType::kLoyalty:
      return {};
  }
  return {};
}

Status CheckTypeField(const state::Operation& op, std::string_view key, bool wanted, RewardType t) {
  const bool present = op.Field(key).has_value();
  std::string type(RewardTypeName(t));
  if (wanted && !present)
    return Error::Invalid("missing_field", type + " rewards need field '" + std::string(key) + "'");
  if (!wanted && present)
    return Error::Invalid("invalid_field", "field '" + std::string(key) + "' is not for " + type + " rewards");
  return Ok();
}

Result<RewardsConfig> RequireConfig(state::OpContext& ctx) {
  auto c = ReadConfig(ctx.Sql());
  if (!c.ok()) return std::move(c).error();
  if (!c->has_value())
    return Error::Unavailable("rewards_unavailable", "no rewards treasury is configured (genesis section \"rewards\")");
  return std::move(**c);
}

Result<Reward> RequireReward(state::OpContext& ctx, const state::Operation& op) {
  auto r = LoadReward(ctx.Sql(), FieldU64(op, "reward_id"));
  if (!r.ok()) return std::move(r).error();
  if (!r->has_value()) return Error::NotFound("reward_not_found", "no reward " + FieldText(op, "reward_id"));
  return std::move(**r);
}

std::string Described(const Reward& r) {
  return "reward " + std::to_string(r.reward_id) + " (" + std::string(RewardTypeName(r.type)) + " to " + r.account_id +
         ")";
}

class AwardOp : public state::OperationType {
 public:
  std::string_view name() const override { return kAwardOp; }
  state::Auth auth() const override { return state::Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldU64(op, "amount") == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
    auto type = ParseRewardType(FieldText(op, "reward_type"));
    if (!type)
      return Error::Invalid("invalid_reward_type",
                            "reward_type must be daily, achievement, tournament, referral or loyalty");
    TypeFields f = FieldsOf(*type);
    KRAY_TRY(CheckTypeField(op, "achievement_id", f.achievement_id, *type));
    KRAY_TRY(CheckTypeField(op, "game_id", f.game_id, *type));
    KRAY_TRY(CheckTypeField(op, "placement", f.placement, *type));
    KRAY_TRY(CheckTypeField(op, "referred_account", f.referred_account, *type));
    if (f.placement && FieldU64(op, "placement") == 0)
      return Error::Invalid("invalid_field", "placement must be at least 1");
    if (f.referred_account && FieldText(op, "referred_account") == FieldText(op, "account_id"))
      return Error::Invalid("self_referral", "an account cannot be rewarded for referring itself");
    // account_id_address: ValidateOperation checks it names `account_id` (keep_address).
    return OnlyEvidence(op, {"account_id_address"});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = RequireConfig(ctx);
    if (!config.ok()) return std::move(config).error();
    Reward r;
    r.account_id = FieldText(op, "account_id");
    if (r.account_id == config->treasury)
      return Error::Invalid("treasury_recipient", "the treasury cannot be rewarded from itself");
    KRAY_TRY(ctx.EnsureAccount(r.account_id, op.Evidence("account_id_address")));
    r.amount = FieldU64(op, "amount");
    r.type = *ParseRewardType(FieldText(op, "reward_type"));
    r.achievement_id = FieldText(op, "achievement_id");
    r.game_id = FieldText(op, "game_id");
    r.placement = FieldU64(op, "placement");
    r.referred_account = FieldText(op, "referred_account");
    r.memo = FieldText(op, "memo");
    r.awarded_at = ctx.now();
    r.expires_at = ctx.now() + config->claim_period;
    if (r.type == RewardType::kReferral) {
      auto referred = ctx.GetAccount(r.referred_account);
      if (!referred.ok()) return std::move(referred).error();
    }
    auto taken = Conflicting(ctx.Sql(), r);
    if (!taken.ok()) return std::move(taken).error();
    if (taken->has_value()) return Error::Conflict("reward_already_awarded", Rule(r) + ": " + Described(**taken));
    auto treasury = ctx.GetBalance(config->treasury, kGasAsset);
    if (!treasury.ok()) return std::move(treasury).error();
    if (treasury->available < r.amount)
      return Error::Conflict("treasury_insufficient", "the rewards treasury " + config->treasury + " holds " +
                                                          std::to_string(treasury->available) +
                                                          " credits available; the award needs " +
                                                          std::to_string(r.amount));
    KRAY_TRY(ctx.Debit(config->treasury, kGasAsset, state::Bucket::kAvailable, r.amount));
    auto id = NextRewardId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    r.reward_id = *id;
    KRAY_TRY(InsertReward(ctx.Sql(), r));
    ctx.Touch(RewardLeaf(r.reward_id));
    ctx.SetResult("reward_id", std::to_string(r.reward_id));
    ctx.SetResult("expires_at", std::to_string(r.expires_at));
    return Ok();
  }

 private:
  static std::string Rule(const Reward& r) {
    switch (r.type) {
      case RewardType::kDaily:
        return "a daily reward is given once per account per UTC day";
      case RewardType::kAchievement:
        return "achievement '" + r.achievement_id + "' is rewarded once per account";
      case RewardType::kTournament:
        return "game '" + r.game_id + "' rewards each placement once and each player once";
      case RewardType::kReferral:
        return "a referral is rewarded once per referred account";
      case RewardType::kLoyalty:
        break;
    }
    return "already awarded";
  }

  static constexpr std::array<FieldSpec, 8> kFields = {{
      {"account_id", FieldKind::kAccount, true, std::nullopt, {}, 256, /*keep_address=*/true},
      {"achievement_id", FieldKind::kId, false, std::nullopt, {}, kMaxIdLen},
      {"amount", FieldKind::kAmount},
      {"game_id", FieldKind::kId, false, std::nullopt, {}, kMaxIdLen},
      {"memo", FieldKind::kText, false, std::nullopt, {}, 256},
      {"placement", FieldKind::kUint, false},
      {"referred_account", FieldKind::kAccount, false},
      {"reward_type", FieldKind::kId, true, std::nullopt, {}, 16},
  }};
};

class ClaimOp : public state::OperationType {
 public:
  std::string_view name() const override { return kClaimOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return 1; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldU64(op, "reward_id") == 0) return Error::Invalid("invalid_field", "reward_id must be at least 1");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto r = RequireReward(ctx, op);
    if (!r.ok()) return std::move(r).error();
    if (r->account_id != op.signer)
      return Error::Conflict("not_your_reward", Described(*r) + " belongs to another account");
    if (r->status == RewardStatus::kClaimed)
      return Error::Conflict("reward_claimed", Described(*r) + " was already claimed");
    if (r->StatusAt(ctx.now()) == RewardStatus::kExpired)
      return Error::Conflict("reward_expired", Described(*r) + " expired at " + std::to_string(r->expires_at));
    KRAY_TRY(ctx.Credit(op.signer, kGasAsset, state::Bucket::kAvailable, r->amount));
    KRAY_TRY(CloseReward(ctx.Sql(), r->reward_id, RewardStatus::kClaimed, ctx.now()));
    ctx.Touch(RewardLeaf(r->reward_id));
    ctx.SetResult("reward_id", std::to_string(r->reward_id));
    ctx.SetResult("amount", std::to_string(r->amount));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"reward_id", FieldKind::kUint}}};
};

// System: a pending reward whose claim period ended. The evidence is the
// expiry it acts on, checked against the state and the recorded time.
class ExpireOp : public state::OperationType {
 public:
  std::string_view name() const override { return kExpireOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldU64(op, "reward_id") == 0) return Error::Invalid("invalid_field", "reward_id must be at least 1");
    if (!op.Evidence("expires_at") || !ParseAmount(*op.Evidence("expires_at")).ok())
      return Error::Invalid("invalid_evidence", "reward_expire names the expiry it acts on (expires_at)");
    return OnlyEvidence(op, {"expires_at"});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = RequireConfig(ctx);
    if (!config.ok()) return std::move(config).error();
    auto r = RequireReward(ctx, op);
    if (!r.ok()) return std::move(r).error();
    if (r->status != RewardStatus::kPending)
      return Error::Conflict("reward_closed", Described(*r) + " is " + std::string(RewardStatusName(r->status)));
    if (std::to_string(r->expires_at) != *op.Evidence("expires_at"))
      return Error::Invalid("invalid_evidence", "expires_at is not the reward's expiry");
    if (ctx.now() < r->expires_at) return Error::Conflict("not_due", Described(*r) + " has not expired yet");
    KRAY_TRY(ctx.Credit(config->treasury, kGasAsset, state::Bucket::kAvailable, r->amount));
    KRAY_TRY(CloseReward(ctx.Sql(), r->reward_id, RewardStatus::kExpired, ctx.now()));
    ctx.Touch(RewardLeaf(r->reward_id));
    ctx.SetResult("returned", std::to_string(r->amount));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"reward_id", FieldKind::kUint}}};
};

}  // namespace

const state::OperationType& AwardOperation() {
  static const AwardOp op;
  return op;
}
const state::OperationType& ClaimOperation() {
  static const ClaimOp op;
  return op;
}
const state::OperationType& ExpireOperation() {
  static const ExpireOp op;
  return op;
}

}  // namespace kray::rewards::internal
