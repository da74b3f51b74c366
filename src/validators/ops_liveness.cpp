// Liveness and slashing: validator_attest and validator_heartbeat (public,
// carrying the validator key's signature, re-checked on replay against the
// registered key), validator_equivocation (signed by whoever submits the
// evidence) and validator_downtime (system) (docs/VALIDATORS.md,
// "Attestations", "Liveness", "Slashing").
#include <array>

#include "kray/validators/validators.h"
#include "ops_common.h"
#include "store.h"

namespace kray::validators::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

constexpr std::size_t kIdLen = 64;

Hash256 HexHash(const state::Operation& op, std::string_view key) {
  return FromHexFixed<32>(op.Field(key).value_or("")).value_or(Hash256{});
}

Status PrecheckSignedByValidator(const ChainParams& params, const state::Operation& op,
                                 const state::OperationType::ReadCommitted& read) {
  return read([&](store::Database& db) -> Status {
    auto v = SignedByValidator(db, params.chain_id, op);
    if (!v.ok()) return std::move(v).error();
    return Ok();
  });
}

class AttestOp : public state::OperationType {
 public:
  std::string_view name() const override { return kAttestOp; }
  state::Auth auth() const override { return state::Auth::kPublic; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "batch"));
    KRAY_TRY(CheckHexField(op, "state_root", 32));
    KRAY_TRY(CheckHexField(op, "tx_root", 32));
    KRAY_TRY(CheckHexField(op, "validator_signature", 64));
    return OnlyEvidence(op, {});
  }
  // Refused before queueing when the signature is not the registered key's.
  Status Precheck(const ChainParams& params, const state::Operation& op, const ReadCommitted& read) const override {
    return PrecheckSignedByValidator(params, op, read);
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto v = SignedByValidator(ctx.Sql(), ctx.params().chain_id, op);
    if (!v.ok()) return std::move(v).error();
    const std::uint64_t batch = FieldU64(op, "batch");
    auto recorded = LoadBatch(ctx.Sql(), batch);
    if (!recorded.ok()) return std::move(recorded).error();
    if (!recorded->has_value())
      return Error::Conflict("batch_not_recorded", "batch " + std::to_string(batch) +
                                                       " is not recorded (not closed yet, or a batch of bookkeeping "
                                                       "only); attest a recorded batch");
    if ((*recorded)->state_root != FieldText(op, "state_root") || (*recorded)->tx_root != FieldText(op, "tx_root"))
      return Error::Conflict("attestation_mismatch", "batch " + std::to_string(batch) + " has state root " +
                                                         (*recorded)->state_root + " and tx root " +
                                                         (*recorded)->tx_root);
    auto existing = LoadAttestation(ctx.Sql(), batch, v->validator_id);
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) {
      ctx.MarkNoChange();  // the same content again (the roots are the recorded ones)
      return Ok();
    }
    Attestation a{v->validator_id,
                  batch,
                  FieldText(op, "state_root"),
                  FieldText(op, "tx_root"),
                  FieldText(op, "validator_signature"),
                  ctx.now()};
    KRAY_TRY(InsertAttestation(ctx.Sql(), a));
    ctx.Touch(AttestationLeaf(a.validator_id, batch));
    v->blocks_validated += 1;
    v->last_active = ctx.now();
    v->last_attested_batch = std::max(v->last_attested_batch, batch);
    KRAY_TRY(SaveValidator(ctx, *v));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("batch", std::to_string(batch));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 5> kFields = {{
      {"batch", FieldKind::kUint},
      {"state_root", FieldKind::kText, true, std::nullopt, {}, 64},
      {"tx_root", FieldKind::kText, true, std::nullopt, {}, 64},
      {"validator_id", FieldKind::kId, true, std::nullopt, {}, kIdLen},
      {"validator_signature", FieldKind::kText, true, std::nullopt, {}, 128},
  }};
};

// Liveness without a batch to attest: the signed time must be close to the
// operation's own time (no heartbeats kept for later) and later than the
// previous heartbeat by kHeartbeatInterval (no flooding).
class HeartbeatOp : public state::OperationType {
 public:
  std::string_view name() const override { return kHeartbeatOp; }
  state::Auth auth() const override { return state::Auth::kPublic; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "at"));
    KRAY_TRY(CheckHexField(op, "validator_signature", 64));
    return OnlyEvidence(op, {});
  }
  // Refused before queueing when the signature is not the registered key's.
  Status Precheck(const ChainParams& params, const state::Operation& op, const ReadCommitted& read) const override {
    return PrecheckSignedByValidator(params, op, read);
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto v = SignedByValidator(ctx.Sql(), ctx.params().chain_id, op);
    if (!v.ok()) return std::move(v).error();
    const std::uint64_t at = FieldU64(op, "at");
    const auto now = static_cast<std::uint64_t>(ctx.now());
    if (at + kHeartbeatSkew < now || at > now + kHeartbeatSkew)
      return Error::Conflict("heartbeat_out_of_window", "heartbeat time " + std::to_string(at) + " is more than " +
                                                            std::to_string(kHeartbeatSkew) +
                                                            " s from the node's time " + std::to_string(now));
    if (v->last_heartbeat != 0 && at < v->last_heartbeat + kHeartbeatInterval)
      return Error::Conflict("heartbeat_too_soon", "the previous heartbeat was at " +
                                                       std::to_string(v->last_heartbeat) + "; the next at or after " +
                                                       std::to_string(v->last_heartbeat + kHeartbeatInterval));
    v->last_heartbeat = at;
    v->last_active = ctx.now();
    KRAY_TRY(SaveValidator(ctx, *v));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("last_active", std::to_string(v->last_active));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"at", FieldKind::kUint},
      {"validator_id", FieldKind::kId, true, std::nullopt, {}, kIdLen},
      {"validator_signature", FieldKind::kText, true, std::nullopt, {}, 128},
  }};
};

// Proven equivocation: two attestations by one validator key of one batch
// number with different roots, both signatures valid. Anyone holding both
// may submit them; the offence is slashed once per validator and batch.
class EquivocationOp : public state::OperationType {
 public:
  std::string_view name() const override { return kEquivocationOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return 1; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    KRAY_TRY(CheckPositiveField(op, "batch"));
    for (const char* k : {"state_root_a", "tx_root_a", "state_root_b", "tx_root_b"}) KRAY_TRY(CheckHexField(op, k, 32));
    for (const char* k : {"signature_a", "signature_b"}) KRAY_TRY(CheckHexField(op, k, 64));
    if (FieldText(op, "state_root_a") == FieldText(op, "state_root_b") &&
        FieldText(op, "tx_root_a") == FieldText(op, "tx_root_b"))
      return Error::Invalid("not_equivocation", "the two attestations sign the same roots");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    auto v = RequireValidator(ctx, FieldText(op, "validator_id"));
    if (!v.ok()) return std::move(v).error();
    const std::uint64_t batch = FieldU64(op, "batch");
    for (const char* side : {"a", "b"}) {
      std::string s(side);
      Hash256 msg =
          AttestationMessage(ctx.params().chain_id, batch, HexHash(op, "state_root_" + s), HexHash(op, "tx_root_" + s));
      if (!ValidatorSignatureValid(v->pubkey, msg, FieldText(op, "signature_" + s)))
        return Error::Invalid("invalid_evidence",
                              "attestation " + s + " is not signed by validator " + v->validator_id + "'s key");
    }
    auto done = EquivocationSlashed(ctx.Sql(), v->validator_id, batch);
    if (!done.ok()) return std::move(done).error();
    if (*done)
      return Error::Conflict(
          "already_slashed",
          "validator " + v->validator_id + " was already slashed for equivocating on batch " + std::to_string(batch));
    auto burned = SlashStake(ctx, *v, config->equivocation_slash_bps);
    if (!burned.ok()) return std::move(burned).error();
    KRAY_TRY(SaveValidator(ctx, *v));
    auto id = NextSlashId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    KRAY_TRY(InsertSlash(ctx.Sql(), Slash{*id, v->validator_id, SlashKind::kEquivocation, batch, *burned, ctx.now()}));
    ctx.Touch(SlashLeaf(*id));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("slash_id", std::to_string(*id));
    ctx.SetResult("slashed", std::to_string(*burned));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 8> kFields = {{
      {"batch", FieldKind::kUint},
      {"signature_a", FieldKind::kText, true, std::nullopt, {}, 128},
      {"signature_b", FieldKind::kText, true, std::nullopt, {}, 128},
      {"state_root_a", FieldKind::kText, true, std::nullopt, {}, 64},
      {"state_root_b", FieldKind::kText, true, std::nullopt, {}, 64},
      {"tx_root_a", FieldKind::kText, true, std::nullopt, {}, 64},
      {"tx_root_b", FieldKind::kText, true, std::nullopt, {}, 64},
      {"validator_id", FieldKind::kId, true, std::nullopt, {}, kIdLen},
  }};
};

// System: an active validator neither attested nor sent a heartbeat for
// longer than the liveness window. The evidence is the time the window ran
// from (Validator::LivenessSince); after the slash a new window starts.
class DowntimeOp : public state::OperationType {
 public:
  std::string_view name() const override { return kDowntimeOp; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (!op.Evidence("since") || !ParseAmount(*op.Evidence("since")).ok())
      return Error::Invalid("invalid_evidence", "validator_downtime names the time its window ran from (since)");
    return OnlyEvidence(op, {"since"});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    auto v = RequireValidator(ctx, FieldText(op, "validator_id"));
    if (!v.ok()) return std::move(v).error();
    if (!v->Active(*config)) return Error::Conflict("not_active", "validator " + v->validator_id + " is not active");
    if (std::to_string(v->LivenessSince()) != *op.Evidence("since"))
      return Error::Invalid("invalid_evidence", "since is not the validator's last activity");
    if (ctx.now() - v->LivenessSince() <= config->liveness_window)
      return Error::Conflict("not_due", "validator " + v->validator_id + " was active within the liveness window");
    auto burned = SlashStake(ctx, *v, config->downtime_slash_bps);
    if (!burned.ok()) return std::move(burned).error();
    v->liveness_reset_at = ctx.now();
    KRAY_TRY(SaveValidator(ctx, *v));
    auto id = NextSlashId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    KRAY_TRY(InsertSlash(ctx.Sql(), Slash{*id, v->validator_id, SlashKind::kDowntime, 0, *burned, ctx.now()}));
    ctx.Touch(SlashLeaf(*id));
    ctx.SetResult("validator_id", v->validator_id);
    ctx.SetResult("slashed", std::to_string(*burned));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {
      {{"validator_id", FieldKind::kId, true, std::nullopt, {}, kIdLen}}};
};

}  // namespace

const state::OperationType& AttestOperation() {
  static const AttestOp op;
  return op;
}
const state::OperationType& HeartbeatOperation() {
  static const HeartbeatOp op;
  return op;
}
const state::OperationType& EquivocationOperation() {
  static const EquivocationOp op;
  return op;
}
const state::OperationType& DowntimeOperation() {
  static const DowntimeOp op;
  return op;
}

}  // namespace kray::validators::internal
