// The rewards module's tables and leaf encodings (see store.h).
#include "store.h"

#include <vector>

#include "kray/state/leaves.h"

namespace kray::rewards::internal {
namespace {

std::int64_t I64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

RewardStatus ParseStatus(const std::string& s) {
  return s == "claimed" ? RewardStatus::kClaimed : s == "expired" ? RewardStatus::kExpired : RewardStatus::kPending;
}

}  // namespace

Reward ReadReward(const store::Statement& s) {
  Reward r;
  r.reward_id = static_cast<std::uint64_t>(s.Int64(0));
  r.account_id = s.Text(1);
  r.amount = static_cast<Amount>(s.Int64(2));
  r.type = ParseRewardType(s.Text(3)).value_or(RewardType::kLoyalty);
  r.achievement_id = s.Text(4);
  r.game_id = s.Text(5);
  r.placement = static_cast<std::uint64_t>(s.Int64(6));
  r.referred_account = s.Text(7);
  r.memo = s.Text(8);
  r.awarded_at = s.Int64(9);
  r.expires_at = s.Int64(10);
  r.status = ParseStatus(s.Text(11));
  r.closed_at = s.Int64(12);
  return r;
}

std::optional<std::uint64_t> ParseDecimalId(std::string_view id) {
  auto v = ParseAmount(id);
  if (!v.ok() || *v == 0 || std::to_string(*v) != id) return std::nullopt;
  return *v;
}

Result<std::optional<RewardsConfig>> ReadConfig(store::Database& db) {
  auto st = db.Use("SELECT treasury, claim_period FROM rewards_config WHERE id = 1");
  if (!st.ok()) return std::move(st).error();
  return store::FirstRow<RewardsConfig>(**st, [](const store::Statement& s) {
    return RewardsConfig{s.Text(0), s.Int64(1)};
  });
}

Status WriteConfig(store::Database& db, const RewardsConfig& c) {
  auto st = db.Use("INSERT OR REPLACE INTO rewards_config (id, treasury, claim_period) VALUES (1, ?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, c.treasury).Bind(2, c.claim_period);
  return (*st)->Run();
}

Result<std::optional<Reward>> LoadReward(store::Database& db, std::uint64_t id) {
  auto st = db.Use(std::string("SELECT ") + kRewardColumns + " FROM rewards WHERE reward_id = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id));
  return store::FirstRow<Reward>(**st, ReadReward);
}

Result<std::uint64_t> NextRewardId(store::Database& db) {
  auto max = store::QueryInt(db, "SELECT COALESCE(MAX(reward_id), 0) FROM rewards");
  if (!max.ok()) return std::move(max).error();
  return static_cast<std::uint64_t>(*max) + 1;
}

Status InsertReward(store::Database& db, const Reward& r) {
  auto st = db.Use(
      "INSERT INTO rewards (reward_id, account_id, amount, reward_type, achievement_id, game_id, placement, "
      "referred_account, memo, day, awarded_at, expires_at, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending')");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(r.reward_id)).Bind(2, r.account_id).Bind(3, I64(r.amount)).Bind(4, RewardTypeName(r.type));
  (*st)->Bind(5, r.achievement_id).Bind(6, r.game_id).Bind(7, I64(r.placement)).Bind(8, r.referred_account);
  (*st)->Bind(9, r.memo).Bind(10, r.awarded_at / 86400).Bind(11, r.awarded_at).Bind(12, r.expires_at);
  return (*st)->Run();
}

Status CloseReward(store::Database& db, std::uint64_t id, RewardStatus status, std::int64_t at) {
  auto st = db.Use("UPDATE rewards SET status = ?2, closed_at = ?3 WHERE reward_id = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id)).Bind(2, RewardStatusName(status)).Bind(3, at);
  return (*st)->Run();
}

Result<std::optional<Reward>> Conflicting(store::Database& db, const Reward& r) {
  // Each rule's own query; the parameters it binds are the reward's fields.
  std::string where;
  std::vector<std::string> params;
  switch (r.type) {
    case RewardType::kDaily:
      where = "reward_type = 'daily' AND account_id = ?1 AND day = CAST(?2 AS INTEGER)";
      params = {r.account_id, std::to_string(r.awarded_at / 86400)};
      break;
    case RewardType::kAchievement:
      where = "reward_type = 'achievement' AND account_id = ?1 AND achievement_id = ?2";
      params = {r.account_id, r.achievement_id};
      break;
    case RewardType::kTournament:
      where = "reward_type = 'tournament' AND game_id = ?1 AND (placement = CAST(?2 AS INTEGER) OR account_id = ?3)";
      params = {r.game_id, std::to_string(r.placement), r.account_id};
      break;
    case RewardType::kReferral:
      where = "reward_type = 'referral' AND referred_account = ?1";
      params = {r.referred_account};
      break;
    case RewardType::kLoyalty:
      return std::optional<Reward>();
  }
  auto st = db.Use(std::string("SELECT ") + kRewardColumns + " FROM rewards WHERE " + where + " LIMIT 1");
  if (!st.ok()) return std::move(st).error();
  for (std::size_t i = 0; i < params.size(); ++i) (*st)->Bind(static_cast<int>(i) + 1, params[i]);
  return store::FirstRow<Reward>(**st, ReadReward);
}

state::LeafId RewardLeaf(std::uint64_t id) {
  return state::LeafId{kRewardLeaf, std::to_string(id)};
}

Bytes EncodeConfigLeaf(const RewardsConfig& c) {
  Bytes out{kConfigLeaf};
  state::PutLp(out, c.treasury);
  state::PutU64(out, static_cast<std::uint64_t>(c.claim_period));
  return out;
}

Bytes EncodeRewardLeaf(const Reward& r) {
  Bytes out{kRewardLeaf};
  state::PutU64(out, r.reward_id);
  state::PutLp(out, r.account_id);
  state::PutU64(out, r.amount);
  state::PutLp(out, RewardTypeName(r.type));
  state::PutLp(out, r.achievement_id);
  state::PutLp(out, r.game_id);
  state::PutU64(out, r.placement);
  state::PutLp(out, r.referred_account);
  state::PutLp(out, r.memo);
  state::PutU64(out, static_cast<std::uint64_t>(r.awarded_at));
  state::PutU64(out, static_cast<std::uint64_t>(r.expires_at));
  out.push_back(static_cast<std::uint8_t>(r.status));
  state::PutU64(out, static_cast<std::uint64_t>(r.closed_at));
  return out;
}

}  // namespace kray::rewards::internal
