// Internal: what the validators module's operations share — reading
// canonical fields, finding validators, saving them with their leaf,
// slashing, and checking a validator key's signature. Everything here runs
// inside an operation's unit of work.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/module.h"
#include "kray/state/op_context.h"
#include "kray/state/operation.h"
#include "kray/validators/types.h"

namespace kray::validators::internal {

// A canonical decimal field (0 when absent or malformed: Check makes that an error).
std::uint64_t FieldU64(const state::Operation& op, std::string_view key);
std::string FieldText(const state::Operation& op, std::string_view key);

// Invalid "invalid_evidence" unless every evidence key is in `allowed`.
Status OnlyEvidence(const state::Operation& op, std::initializer_list<std::string_view> allowed);

// Invalid "invalid_field" unless field `key` is exactly 2*bytes lowercase hex.
Status CheckHexField(const state::Operation& op, std::string_view key, std::size_t bytes);
// Invalid "invalid_field" unless field `key` is a canonical decimal >= 1.
Status CheckPositiveField(const state::Operation& op, std::string_view key, std::string_view code = "invalid_field");

// The validator named by the operation's `validator_id`: NotFound
// "validator_not_found".
Result<Validator> RequireValidator(state::OpContext& ctx, std::string_view validator_id);
// The validator of a staking account: NotFound "validator_not_found".
Result<Validator> RequireValidatorOfAccount(state::OpContext& ctx, std::string_view account_id);
// Writes the validator's row and touches its leaf.
Status SaveValidator(state::OpContext& ctx, const Validator& v);

// True if the 64-byte hex `signature` is a valid BIP-340 signature of `msg`
// by the x-only hex key `pubkey` (false for malformed input).
bool ValidatorSignatureValid(std::string_view pubkey, const Hash256& msg, std::string_view signature);

// The message validator_attest / validator_heartbeat `op` carries the
// validator key's signature of (its canonical fields), or nullopt for
// another operation.
std::optional<Hash256> ValidatorMessageOf(std::string_view chain_id, const state::Operation& op);

// The validator that validator_attest / validator_heartbeat `op` names, if
// its `validator_signature` is that validator's registered key's signature
// of the operation's message, read through `db` (the unit's connection in
// Apply, a read connection in Precheck: the same check before queueing,
// when applied and on replay). NotFound "validator_not_found", Unauthorized
// "invalid_signature".
Result<Validator> SignedByValidator(store::Database& db, std::string_view chain_id, const state::Operation& op);

// Slashes `bps` of the validator's bonded stake and of each of its pending
// unbonding entries (each rounded down), burning it from the account's
// staked bucket; updates `v` (not saved) and the entries (saved, touched).
// Returns the amount burned.
Result<Amount> SlashStake(state::OpContext& ctx, Validator& v, std::uint32_t bps);

// The operation types (ops_*.cpp).
const state::OperationType& RegisterOperation();
const state::OperationType& StakeOperation();
const state::OperationType& UnstakeOperation();
const state::OperationType& ClaimRewardsOperation();
const state::OperationType& UnbondOperation();
const state::OperationType& AttestOperation();
const state::OperationType& HeartbeatOperation();
const state::OperationType& EquivocationOperation();
const state::OperationType& DowntimeOperation();
const state::OperationType& BatchOperation();

}  // namespace kray::validators::internal
