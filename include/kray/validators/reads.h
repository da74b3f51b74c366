// Read queries of the validators module for the API (docs/API.md,
// "Validators"). Each takes a read connection to the state store
// (state::Ledger::WithReader) and returns typed rows; errors are store
// errors only (kind internal) unless noted. Stakes are read as they are now:
// whether a batch reached quorum is "as of now", not as of its attestation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/result.h"
#include "kray/validators/types.h"

namespace kray::store {
class Database;
}

namespace kray::validators {

// The parameters (the defaults when the genesis had no "validators" section).
Result<Config> LoadConfig(store::Database& db);

// True once any validator has registered.
Result<bool> AnyValidator(store::Database& db);
Result<std::optional<Validator>> FindValidator(store::Database& db, std::string_view validator_id);
Result<std::optional<Validator>> FindValidatorOfAccount(store::Database& db, std::string_view account_id);

// Uptime over the last `uptime_window` batches recorded since the validator
// registered: how many of them it attested.
struct Uptime {
  std::uint64_t attested = 0;
  std::uint64_t batches = 0;  // 0: no batch recorded since it registered
};
// Percentage with two decimals, truncated ("66.66"); "" when batches == 0.
std::string UptimePercent(const Uptime& u);

struct ValidatorDetails {
  Validator validator;
  ValidatorStatus status = ValidatorStatus::kActive;
  Amount unbonding = 0;  // pending unbonding entries, in total
  Uptime uptime;
};
Result<ValidatorDetails> Describe(store::Database& db, const Config& config, const Validator& v);

// Validators by id after `after` ("" = from the start), at most `limit`;
// only the active set when `active_only`.
Result<std::vector<ValidatorDetails>> ListValidators(store::Database& db, const Config& config, bool active_only,
                                                     std::string_view after, int limit);
// Newest first, at most `limit`.
Result<std::vector<Unbonding>> UnbondingOf(store::Database& db, std::string_view validator_id, int limit);
Result<std::vector<Slash>> SlashesOf(store::Database& db, std::string_view validator_id, int limit);
// The validator's attestations, newest batch first, batch < before (0: no bound).
Result<std::vector<Attestation>> AttestationsBy(store::Database& db, std::string_view validator_id,
                                                std::uint64_t before, int limit);

// The active set's total bonded stake and size.
struct ActiveSet {
  Amount stake = 0;
  std::uint64_t count = 0;
};
Result<ActiveSet> GetActiveSet(store::Database& db, const Config& config);

Result<std::optional<RecordedBatch>> FindRecordedBatch(store::Database& db, std::uint64_t number);
Result<std::optional<RecordedBatch>> LastRecordedBatch(store::Database& db);

// True when attested_stake * 10000 >= active_stake * quorum_bps and some
// stake is active (128-bit products).
bool QuorumReached(Amount attested_stake, Amount active_stake, std::uint32_t quorum_bps);

// A batch's attestations, with each attester's bonded stake now; the stake
// of attesters in the active set against the active set's.
struct BatchAttestations {
  std::optional<RecordedBatch> recorded;  // nullopt: not recorded (not attestable)
  struct Entry {
    Attestation attestation;
    Amount stake = 0;
    bool active = false;
  };
  std::vector<Entry> attestations;  // by validator id, at most `limit`
  std::uint64_t count = 0;          // all of them
  Amount attested_stake = 0;        // active attesters
  ActiveSet active;
  std::uint32_t quorum_bps = 0;
  bool quorum_reached = false;
};
Result<BatchAttestations> AttestationsOf(store::Database& db, std::uint64_t batch, int limit);

struct ValidatorStats {
  std::uint64_t active = 0, inactive = 0, exited = 0;
  Amount bonded = 0, unbonding = 0;
  Amount rewards_pending = 0, rewards_earned = 0, rewards_claimed = 0;
  Amount slashed = 0;
  std::uint64_t downtime_slashes = 0, equivocation_slashes = 0;
  std::uint64_t batches_recorded = 0, attestations = 0;
  Amount gas_retained = 0, distributed = 0;  // over every recorded batch; the rest stayed in the fee pool
};
Result<ValidatorStats> GetStats(store::Database& db, const Config& config);

}  // namespace kray::validators
