// Domain types of the validators module (docs/VALIDATORS.md). No SQL, JSON
// or HTTP here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/amount.h"

namespace kray::validators {

// The chain's validator parameters: the genesis section "validators" (every
// key optional), committed as leaf 0x50. Without a section, these defaults.
struct Config {
  Amount min_stake = 10'000'000;                // credits (10,000 KRAY) to register and to be active
  std::int64_t unbonding_period = 604'800;      // seconds (7 days) from unstake to available
  std::int64_t liveness_window = 86'400;        // seconds without attestation or heartbeat before a downtime slash
  std::uint32_t downtime_slash_bps = 1000;      // 10%
  std::uint32_t equivocation_slash_bps = 5000;  // 50%
  std::uint32_t quorum_bps = 6667;              // attested stake * 10000 >= active stake * quorum_bps
  std::uint64_t uptime_window = 100;            // recorded batches over which uptime is computed
};

enum class ValidatorStatus {
  kActive,    // bonded stake >= min_stake: in the active set, paid, slashable for downtime
  kInactive,  // bonded stake below the minimum (after unstake or slashing)
  kExited,    // nothing bonded and nothing unbonding
};
std::string_view ValidatorStatusName(ValidatorStatus s);  // "active" | "inactive" | "exited"

struct Validator {
  std::string validator_id;
  std::string account_id;
  std::string pubkey;  // validator key, x-only hex
  std::string l1_address;
  Amount stake = 0;  // bonded
  Amount rewards_pending = 0, rewards_earned = 0, rewards_claimed = 0;
  Amount slashed = 0;  // burned by slashing, in total
  std::int64_t registered_at = 0;
  std::int64_t last_active = 0;        // last attestation or heartbeat (registration at first)
  std::uint64_t last_heartbeat = 0;    // the signed `at` of the last heartbeat (0: none)
  std::int64_t liveness_reset_at = 0;  // last downtime slash, or becoming active again
  std::uint64_t blocks_validated = 0;  // attested batches
  std::uint64_t last_attested_batch = 0;

  bool Active(const Config& c) const { return stake >= c.min_stake; }
  // The time the liveness window runs from: a downtime slash is due when
  // now - LivenessSince() > liveness_window.
  std::int64_t LivenessSince() const { return std::max(last_active, liveness_reset_at); }
};

// A batch recorded by validator_batch.
struct RecordedBatch {
  std::uint64_t number = 0;
  std::uint64_t range_first_seq = 0;  // first operation whose gas this distribution covered
  std::uint64_t first_seq = 0, last_seq = 0;
  std::string state_root, tx_root;  // hex
  Amount gas_retained = 0;          // the validators' share over range_first_seq..last_seq
  Amount distributed = 0;           // paid to validators (0: kept in the fee pool)
  Amount eligible_stake = 0;
  std::uint64_t eligible_count = 0;
  std::int64_t recorded_at = 0;
};

struct Attestation {
  std::string validator_id;
  std::uint64_t batch = 0;
  std::string state_root, tx_root, signature;  // hex
  std::int64_t attested_at = 0;
};

enum class SlashKind { kDowntime, kEquivocation };
std::string_view SlashKindName(SlashKind k);  // "downtime" | "equivocation"

struct Slash {
  std::uint64_t slash_id = 0;
  std::string validator_id;
  SlashKind kind = SlashKind::kDowntime;
  std::uint64_t batch = 0;  // equivocation: the batch number
  Amount amount = 0;        // burned
  std::int64_t slashed_at = 0;
};

struct Unbonding {
  std::uint64_t unbonding_id = 0;
  std::string validator_id;
  Amount amount = 0;
  std::int64_t started_at = 0, ends_at = 0;
  bool completed = false;
};

}  // namespace kray::validators
