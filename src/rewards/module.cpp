// The rewards module's registration with the module host: migrations,
// operations, leaves, conservation term, genesis section and the expiry
// sweep (see include/kray/rewards/rewards.h).
#include <nlohmann/json.hpp>

#include "kray/core/asset.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "ops.h"
#include "store.h"

namespace kray::rewards {
namespace {

using Fn = std::function<Status(std::string_view)>;

constexpr int kDueLimit = 100;  // expiries per check
constexpr std::int64_t kMaxClaimPeriod = 10LL * 365 * 86400;

Error InvalidGenesis(const std::string& what) {
  return Error::Invalid("invalid_genesis", "rewards: " + what);
}

Result<std::optional<Bytes>> EncodeConfig(store::Database& db, std::string_view id) {
  if (id != "config") return std::optional<Bytes>();
  auto c = internal::ReadConfig(db);
  if (!c.ok()) return std::move(c).error();
  if (!c->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(internal::EncodeConfigLeaf(**c));
}

Result<std::optional<Bytes>> EncodeReward(store::Database& db, std::string_view id) {
  auto n = internal::ParseDecimalId(id);
  if (!n) return std::optional<Bytes>();
  auto r = internal::LoadReward(db, *n);
  if (!r.ok()) return std::move(r).error();
  if (!r->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(internal::EncodeRewardLeaf(**r));
}

// The treasury named in the genesis section: an existing account id, or an
// address (its account is created without a key if the core allocation did
// not create it; it can be funded by transfers later).
Result<std::string> GenesisTreasury(state::OpContext& ctx, const nlohmann::json& v) {
  if (!v.is_string()) return InvalidGenesis("treasury must be an account id or address");
  auto r = state::ResolveAccount(ctx.params(), v.get<std::string>());
  if (!r.ok()) return InvalidGenesis("treasury: " + r.error().message);
  auto found = ctx.FindAccount(r->account_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value()) {
    if (r->address.empty()) return InvalidGenesis("treasury account " + r->account_id + " does not exist");
    KRAY_TRY(ctx.CreateAccount(r->address, ""));
  }
  return r->account_id;
}

class Rewards : public state::Module {
 public:
  std::string_view name() const override { return kModuleName; }
  std::span<const store::Migration> migrations() const override { return RewardsMigrations(); }
  std::vector<const state::OperationType*> operations() const override {
    return {&internal::AwardOperation(), &internal::ClaimOperation(), &internal::ExpireOperation()};
  }

  std::vector<state::LeafType> leaf_types() const override {
    return {
        state::LeafType{kConfigLeaf, "rewards.config", EncodeConfig,
                        [](store::Database& db, const Fn& fn) -> Status {
                          auto c = internal::ReadConfig(db);
                          if (!c.ok()) return std::move(c).error();
                          return c->has_value() ? fn("config") : Ok();
                        }},
        state::LeafType{kRewardLeaf, "rewards.reward", EncodeReward, [](store::Database& db, const Fn& fn) -> Status {
                          auto st = db.Prepare("SELECT CAST(reward_id AS TEXT) FROM rewards");
                          if (!st.ok()) return std::move(st).error();
                          return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
                        }}};
  }

  // Pending rewards: taken from the treasury, not yet claimed or returned.
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    auto pending = store::QueryInt(db, "SELECT COALESCE(SUM(amount), 0) FROM rewards WHERE status = 'pending'");
    if (!pending.ok()) return std::move(pending).error();
    std::vector<state::ConservationTerm> terms;
    if (*pending > 0) terms.push_back({"rewards.escrow", std::string(kGasAsset), static_cast<Amount>(*pending)});
    return terms;
  }

  // {"treasury": "<account id or address>", "claim_period": seconds}
  Status ApplyGenesis(state::OpContext& ctx, std::string_view section) const override {
    if (section.empty()) return Ok();
    auto j = nlohmann::json::parse(section, nullptr, false);
    if (!j.is_object()) return InvalidGenesis("the section must be an object");
    for (const auto& [k, v] : j.items())
      if (k != "treasury" && k != "claim_period") return InvalidGenesis("unknown key '" + k + "'");
    if (!j.contains("treasury")) return InvalidGenesis("missing 'treasury'");
    RewardsConfig c;
    auto treasury = GenesisTreasury(ctx, j["treasury"]);
    if (!treasury.ok()) return std::move(treasury).error();
    c.treasury = std::move(*treasury);
    if (j.contains("claim_period")) {
      const auto& p = j["claim_period"];
      if (!p.is_number_unsigned() || p.get<std::uint64_t>() == 0 ||
          p.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxClaimPeriod))
        return InvalidGenesis("claim_period must be whole seconds 1.." + std::to_string(kMaxClaimPeriod));
      c.claim_period = static_cast<std::int64_t>(p.get<std::uint64_t>());
    }
    KRAY_TRY(internal::WriteConfig(ctx.Sql(), c));
    ctx.Touch(state::LeafId{kConfigLeaf, "config"});
    return Ok();
  }

  // Pending rewards whose claim period has ended go back to the treasury.
  Result<std::vector<state::Operation>> DueSystemOperations(store::Database& db, std::int64_t now) const override {
    auto st = db.Use(
        "SELECT reward_id, expires_at FROM rewards WHERE status = 'pending' AND expires_at <= ?1 "
        "ORDER BY reward_id LIMIT ?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, now).Bind(2, kDueLimit);
    return store::CollectRows<state::Operation>(**st, [](const store::Statement& r) {
      state::Operation op;
      op.type = std::string(kExpireOp);
      op.auth = state::Auth::kSystem;
      op.fields = {{"reward_id", std::to_string(r.Int64(0))}};
      op.evidence = {{"expires_at", std::to_string(r.Int64(1))}};
      return op;
    });
  }
};

}  // namespace

const state::Module& RewardsModule() {
  static const Rewards module;
  return module;
}

std::string_view RewardTypeName(RewardType t) {
  switch (t) {
    case RewardType::kDaily:
      return "daily";
    case RewardType::kAchievement:
      return "achievement";
    case RewardType::kTournament:
      return "tournament";
    case RewardType::kReferral:
      return "referral";
    case RewardType::kLoyalty:
      return "loyalty";
  }
  return "loyalty";
}

std::optional<RewardType> ParseRewardType(std::string_view name) {
  for (RewardType t : kRewardTypes)
    if (RewardTypeName(t) == name) return t;
  return std::nullopt;
}

std::string_view RewardStatusName(RewardStatus s) {
  return s == RewardStatus::kClaimed ? "claimed" : s == RewardStatus::kExpired ? "expired" : "pending";
}

}  // namespace kray::rewards
