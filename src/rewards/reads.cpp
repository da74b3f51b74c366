// Read queries of the rewards module (see include/kray/rewards/rewards.h).
#include "kray/core/asset.h"
#include "kray/rewards/rewards.h"
#include "kray/state/leaves.h"
#include "store.h"

namespace kray::rewards {

Result<std::optional<RewardsConfig>> LoadConfig(store::Database& db) {
  return internal::ReadConfig(db);
}

Result<std::optional<Reward>> FindReward(store::Database& db, std::uint64_t reward_id) {
  return internal::LoadReward(db, reward_id);
}

Result<std::vector<Reward>> RewardsOf(store::Database& db, std::string_view account_id, RewardSet set,
                                      std::uint64_t before, int limit, std::int64_t now) {
  const char* which = set == RewardSet::kClaimable ? "status = 'pending' AND expires_at > ?3"
                                                   : "(status <> 'pending' OR expires_at <= ?3)";
  auto st = db.Use(std::string("SELECT ") + internal::kRewardColumns + " FROM rewards WHERE account_id = ?1 AND " +
                   which + " AND (?2 = 0 OR reward_id < ?2) ORDER BY reward_id DESC LIMIT ?4");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, account_id).Bind(2, static_cast<std::int64_t>(before)).Bind(3, now).Bind(4, limit);
  return store::CollectRows<Reward>(**st, internal::ReadReward);
}

Result<RewardStats> GetRewardStats(store::Database& db) {
  RewardStats s;
  for (RewardType t : kRewardTypes) s.awarded_by_type[std::string(RewardTypeName(t))] = {};
  auto st = db.Use("SELECT reward_type, status, COUNT(*), SUM(amount) FROM rewards GROUP BY reward_type, status");
  if (!st.ok()) return std::move(st).error();
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    auto count = static_cast<std::uint64_t>(r.Int64(2));
    u128 amount = static_cast<std::uint64_t>(r.Int64(3));  // a group's SUM stays below 2^63 (SQLite errors past it)
    auto add = [&](RewardStats::Totals& t) {
      t.count += count;
      t.amount += amount;
    };
    add(s.awarded_by_type[r.Text(0)]);
    add(s.awarded);
    const std::string status = r.Text(1);
    add(status == "claimed" ? s.claimed : status == "expired" ? s.expired : s.pending);
    return Ok();
  }));
  auto config = internal::ReadConfig(db);
  if (!config.ok()) return std::move(config).error();
  if (config->has_value()) {
    s.treasury = (*config)->treasury;
    auto account = state::LoadAccountState(db, (*config)->treasury);
    if (!account.ok()) return std::move(account).error();
    s.treasury_available = account->BalanceOf(std::string(kGasAsset)).available;
  }
  return s;
}

}  // namespace kray::rewards
