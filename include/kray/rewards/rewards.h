// The rewards module (docs/REWARDS.md): gaming rewards in KRAY paid from a
// funded treasury account, never minted.
//
//   reward_award   operator: account_id, amount, reward_type (daily |
//                  achievement | tournament | referral | loyalty) and the
//                  type's own fields; the amount leaves the treasury's
//                  available balance at once (409 treasury_insufficient)
//   reward_claim   signed by the rewarded account: reward_id, before expiry
//                  (gas 1)
//   reward_expire  system: an unclaimed reward expired; its amount goes back
//                  to the treasury
//
// Once-only rules: daily at most once per account per UTC day, achievement
// once per account and achievement id, tournament once per game placement
// and once per player per game, referral once per referred account.
// Leaves (docs/ROLLUP.md): 0x60 config, 0x61 reward. Audit: pending rewards
// ("rewards.escrow", KRAY). Genesis section "rewards": {"treasury": account
// id or address, "claim_period": seconds (default 30 days)}; without it
// awards answer 503 rewards_unavailable.
//
// Reads take a read connection (state::Ledger::WithReader); `now` decides
// which pending rewards are shown as expired (not swept yet).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/result.h"
#include "kray/state/module.h"
#include "kray/store/database.h"

namespace kray::rewards {

inline constexpr std::string_view kModuleName = "rewards";
inline constexpr std::string_view kAwardOp = "reward_award";
inline constexpr std::string_view kClaimOp = "reward_claim";
inline constexpr std::string_view kExpireOp = "reward_expire";

inline constexpr std::uint8_t kConfigLeaf = 0x60;  // id "config"
inline constexpr std::uint8_t kRewardLeaf = 0x61;  // id = decimal reward id

inline constexpr std::int64_t kDefaultClaimPeriod = 30 * 86400;

const state::Module& RewardsModule();
// schema/rewards/*.sql, embedded at build time.
std::span<const store::Migration> RewardsMigrations();

enum class RewardType { kDaily, kAchievement, kTournament, kReferral, kLoyalty };
std::string_view RewardTypeName(RewardType t);  // "daily", "achievement", …
std::optional<RewardType> ParseRewardType(std::string_view name);
inline constexpr RewardType kRewardTypes[] = {RewardType::kDaily, RewardType::kAchievement, RewardType::kTournament,
                                              RewardType::kReferral, RewardType::kLoyalty};

enum class RewardStatus { kPending, kClaimed, kExpired };
std::string_view RewardStatusName(RewardStatus s);  // "pending" | "claimed" | "expired"

struct RewardsConfig {
  std::string treasury;  // kray_ id
  std::int64_t claim_period = kDefaultClaimPeriod;
};

struct Reward {
  std::uint64_t reward_id = 0;
  std::string account_id;
  Amount amount = 0;  // KRAY credits
  RewardType type = RewardType::kLoyalty;
  std::string achievement_id, game_id;
  std::uint64_t placement = 0;
  std::string referred_account, memo;
  std::int64_t awarded_at = 0, expires_at = 0;
  RewardStatus status = RewardStatus::kPending;
  std::int64_t closed_at = 0;  // claimed or expired

  // The stored status, except that a pending reward past its expiry reads
  // "expired" before the sweep returns it.
  RewardStatus StatusAt(std::int64_t now) const {
    return status == RewardStatus::kPending && now >= expires_at ? RewardStatus::kExpired : status;
  }
};

// --- reads ---
// nullopt without a "rewards" genesis section.
Result<std::optional<RewardsConfig>> LoadConfig(store::Database& db);
Result<std::optional<Reward>> FindReward(store::Database& db, std::uint64_t reward_id);

// An account's rewards, newest first: the claimable ones (pending, not
// expired at `now`) or the rest (claimed or expired), reward_id < before
// (0: no bound), at most `limit`.
enum class RewardSet { kClaimable, kHistory };
Result<std::vector<Reward>> RewardsOf(store::Database& db, std::string_view account_id, RewardSet set,
                                      std::uint64_t before, int limit, std::int64_t now);

struct RewardStats {
  struct Totals {
    std::uint64_t count = 0;
    u128 amount = 0;  // sums of many rewards may pass 2^63-1
  };
  std::map<std::string, Totals> awarded_by_type;  // every type present
  Totals awarded, claimed, expired, pending;      // pending: awaiting a claim (expired ones not swept included)
  std::optional<std::string> treasury;
  Amount treasury_available = 0;  // KRAY the treasury can still award
};
Result<RewardStats> GetRewardStats(store::Database& db);

}  // namespace kray::rewards
