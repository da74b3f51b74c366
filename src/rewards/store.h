// Internal: the rewards module's tables (schema/rewards) — row mapping,
// writes and the committed leaf encodings (docs/ROLLUP.md, "Leaves").
// Not thread-safe (one connection per caller).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/rewards/rewards.h"
#include "kray/state/operation.h"
#include "kray/store/database.h"

namespace kray::rewards::internal {

inline constexpr const char* kRewardColumns =
    "reward_id, account_id, amount, reward_type, achievement_id, game_id, placement, referred_account, memo, "
    "awarded_at, expires_at, status, closed_at";
Reward ReadReward(const store::Statement& s);

// A canonical decimal leaf id ("12"), or nullopt.
std::optional<std::uint64_t> ParseDecimalId(std::string_view id);

Result<std::optional<RewardsConfig>> ReadConfig(store::Database& db);
Status WriteConfig(store::Database& db, const RewardsConfig& c);

Result<std::optional<Reward>> LoadReward(store::Database& db, std::uint64_t id);
Result<std::uint64_t> NextRewardId(store::Database& db);
Status InsertReward(store::Database& db, const Reward& r);  // with day = awarded_at / 86400
Status CloseReward(store::Database& db, std::uint64_t id, RewardStatus status, std::int64_t at);

// The reward that already takes the once-only slot `r` would take, or
// nullopt (daily: account and UTC day; achievement: account and id;
// tournament: the placement, or the player in that game; referral: the
// referred account; loyalty: never).
Result<std::optional<Reward>> Conflicting(store::Database& db, const Reward& r);

state::LeafId RewardLeaf(std::uint64_t id);
Bytes EncodeConfigLeaf(const RewardsConfig& c);
Bytes EncodeRewardLeaf(const Reward& r);

}  // namespace kray::rewards::internal
