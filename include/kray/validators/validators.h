// The validators module (docs/VALIDATORS.md): validators with real stake
// (locked in the staking account's `staked` bucket), attestations of the
// rollup's batches signed by a validator key, the validators' half of the gas
// distributed at each recorded batch, liveness, slashing and unbonding — all
// operations of the module host, replayed by `krayd verify`.
//
//   validator_register       signed by the staking account: pubkey (the
//                            validator key), l1_address, stake_amount,
//                            validator_signature (proof of possession)  gas 2
//   stake / unstake          signed by the validator's account: amount gas 2
//   validator_claim_rewards  signed by the validator's account:
//                            validator_id                              gas 1
//   validator_equivocation   signed by anyone: two attestations of one
//                            batch number by one validator key          gas 1
//   validator_attest         public, carries the validator key's signature
//   validator_heartbeat      public, carries the validator key's signature
//   validator_batch          system: records a closed batch (its roots as
//                            evidence, the tx root recomputed from the log)
//                            and distributes its gas share
//   validator_downtime       system: the liveness window passed (10% slash)
//   validator_unbond         system: an unbonding entry ended
//
// Leaves (docs/ROLLUP.md): 0x50 config, 0x51 validator, 0x52 recorded batch,
// 0x53 attestation, 0x54 slash, 0x55 unbonding entry. Audit: rewards accrued
// and not claimed ("validators.rewards", KRAY). Invariant: each validator
// account's staked KRAY == its bonded stake + pending unbonding.
// Genesis section "validators": the parameters of types.h's Config.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/module.h"
#include "kray/store/database.h"

namespace kray::validators {

inline constexpr std::string_view kModuleName = "validators";

inline constexpr std::string_view kRegisterOp = "validator_register";
inline constexpr std::string_view kStakeOp = "stake";
inline constexpr std::string_view kUnstakeOp = "unstake";
inline constexpr std::string_view kClaimRewardsOp = "validator_claim_rewards";
inline constexpr std::string_view kEquivocationOp = "validator_equivocation";
inline constexpr std::string_view kAttestOp = "validator_attest";
inline constexpr std::string_view kHeartbeatOp = "validator_heartbeat";
inline constexpr std::string_view kBatchOp = "validator_batch";
inline constexpr std::string_view kDowntimeOp = "validator_downtime";
inline constexpr std::string_view kUnbondOp = "validator_unbond";

inline constexpr std::uint8_t kConfigLeaf = 0x50;       // id "config"
inline constexpr std::uint8_t kValidatorLeaf = 0x51;    // id = validator id
inline constexpr std::uint8_t kBatchLeaf = 0x52;        // id = decimal batch number
inline constexpr std::uint8_t kAttestationLeaf = 0x53;  // id = "<validator id>:<batch>"
inline constexpr std::uint8_t kSlashLeaf = 0x54;        // id = decimal slash id
inline constexpr std::uint8_t kUnbondingLeaf = 0x55;    // id = decimal unbonding id

// A heartbeat's signed time must be within this many seconds of the
// operation's recorded time, and at least kHeartbeatInterval after the
// validator's previous heartbeat (so one key cannot flood the log).
inline constexpr std::int64_t kHeartbeatSkew = 300;
inline constexpr std::int64_t kHeartbeatInterval = 60;

// The module (one instance; register it with state::ModuleRegistry::Add).
const state::Module& ValidatorsModule();
// schema/validators/*.sql, embedded at build time.
std::span<const store::Migration> ValidatorsMigrations();

// --- validator messages (docs/SIGNING.md, "Validator messages") ---
// "val_" + the first 32 hex characters of SHA-256(the 32-byte x-only key).
std::string ValidatorId(const crypto::XOnlyPubKey& key);
// TaggedHash("KRAY/validator/attest/v1", lp(chain_id) || u64be(batch) ||
//            state_root (32) || tx_root (32))
Hash256 AttestationMessage(std::string_view chain_id, std::uint64_t batch, const Hash256& state_root,
                           const Hash256& tx_root);
// TaggedHash("KRAY/validator/heartbeat/v1", lp(chain_id) || lp(validator_id) || u64be(at))
Hash256 HeartbeatMessage(std::string_view chain_id, std::string_view validator_id, std::uint64_t at);
// The validator key's proof of possession in validator_register (its
// `validator_signature`): the key's holder agrees to validate for this
// staking account on this chain, so nobody can register someone else's key.
// TaggedHash("KRAY/validator/register/v1", lp(chain_id) || lp(account_id))
Hash256 RegistrationMessage(std::string_view chain_id, std::string_view account_id);

// True for the operations a batch can hold without being recorded: the
// validators' own bookkeeping (validator_batch, validator_attest,
// validator_heartbeat). Recording such a batch would make the next one, and
// so on for ever (docs/VALIDATORS.md, "Recording batches").
bool IsHousekeeping(std::string_view op_type);

}  // namespace kray::validators
