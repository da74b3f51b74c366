// Internal: the validators module's tables (schema/validators) — row mapping,
// writes and the committed leaf encodings (docs/ROLLUP.md, "Leaves"). Used by
// the operations (on the unit's connection, ctx.Sql()), the leaf encoders,
// the audit and the reads. Not thread-safe (one connection per caller).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/operation.h"
#include "kray/store/database.h"
#include "kray/validators/types.h"

namespace kray::validators::internal {

// The SELECT column lists the Read* functions map.
inline constexpr const char* kValidatorColumns =
    "validator_id, account_id, pubkey, l1_address, stake, rewards_pending, rewards_earned, rewards_claimed, slashed, "
    "registered_at, last_active, last_heartbeat, liveness_reset_at, blocks_validated, last_attested_batch";
inline constexpr const char* kBatchColumns =
    "number, range_first_seq, first_seq, last_seq, state_root, tx_root, gas_retained, distributed, eligible_stake, "
    "eligible_count, recorded_at";
inline constexpr const char* kAttestationColumns = "validator_id, batch, state_root, tx_root, signature, attested_at";
inline constexpr const char* kSlashColumns = "slash_id, validator_id, kind, batch, amount, slashed_at";
inline constexpr const char* kUnbondingColumns = "unbonding_id, validator_id, amount, started_at, ends_at, status";

Validator ReadValidator(const store::Statement& s);
RecordedBatch ReadBatch(const store::Statement& s);
Attestation ReadAttestation(const store::Statement& s);
Slash ReadSlash(const store::Statement& s);
Unbonding ReadUnbonding(const store::Statement& s);

// A canonical decimal leaf id ("12"), or nullopt.
std::optional<std::uint64_t> ParseDecimalId(std::string_view id);

// --- config ---
Result<bool> HasConfig(store::Database& db);
Result<Config> ReadConfig(store::Database& db);  // the defaults when absent
Status WriteConfig(store::Database& db, const Config& c);

// --- validators ---
Result<std::optional<Validator>> LoadValidator(store::Database& db, std::string_view validator_id);
Result<std::optional<Validator>> LoadValidatorOfAccount(store::Database& db, std::string_view account_id);
Result<bool> PubkeyRegistered(store::Database& db, std::string_view pubkey_hex);
Status InsertValidator(store::Database& db, const Validator& v);
Status UpdateValidator(store::Database& db, const Validator& v);  // every column but the identity

// --- recorded batches ---
Result<std::optional<RecordedBatch>> LoadBatch(store::Database& db, std::uint64_t number);
Result<std::optional<RecordedBatch>> LoadLastBatch(store::Database& db);
Status InsertBatch(store::Database& db, const RecordedBatch& b);

// --- attestations ---
Result<std::optional<Attestation>> LoadAttestation(store::Database& db, std::uint64_t batch,
                                                   std::string_view validator_id);
Status InsertAttestation(store::Database& db, const Attestation& a);
// Validators that attested `batch`, by id.
Result<std::vector<std::string>> AttestersOf(store::Database& db, std::uint64_t batch);

// --- slashes ---
Result<std::uint64_t> NextSlashId(store::Database& db);
Result<bool> EquivocationSlashed(store::Database& db, std::string_view validator_id, std::uint64_t batch);
Status InsertSlash(store::Database& db, const Slash& s);
Result<std::optional<Slash>> LoadSlash(store::Database& db, std::uint64_t slash_id);

// --- unbonding ---
Result<std::uint64_t> NextUnbondingId(store::Database& db);
Result<std::optional<Unbonding>> LoadUnbonding(store::Database& db, std::uint64_t id);
Result<std::vector<Unbonding>> PendingUnbondingOf(store::Database& db, std::string_view validator_id);
Status InsertUnbonding(store::Database& db, const Unbonding& u);
Status UpdateUnbonding(store::Database& db, const Unbonding& u);  // amount and status

// --- leaves ---
state::LeafId ValidatorLeaf(std::string_view validator_id);
state::LeafId BatchLeaf(std::uint64_t number);
state::LeafId AttestationLeaf(std::string_view validator_id, std::uint64_t batch);
state::LeafId SlashLeaf(std::uint64_t id);
state::LeafId UnbondingLeaf(std::uint64_t id);

// Leaf data (docs/ROLLUP.md): u8(type) || fields. Errors only for rows whose
// hex columns are malformed (a store edited behind the node's back).
Bytes EncodeConfigLeaf(const Config& c);
Result<Bytes> EncodeValidatorLeaf(const Validator& v);
Result<Bytes> EncodeBatchLeaf(const RecordedBatch& b);
Result<Bytes> EncodeAttestationLeaf(const Attestation& a);
Bytes EncodeSlashLeaf(const Slash& s);
Bytes EncodeUnbondingLeaf(const Unbonding& u);

}  // namespace kray::validators::internal
