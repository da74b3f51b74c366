// Shared pieces of the validators module's operations (see ops_common.h).
#include "ops_common.h"

#include <algorithm>

#include "kray/core/asset.h"
#include "kray/crypto/secp256k1.h"
#include "kray/validators/validators.h"
#include "store.h"

namespace kray::validators::internal {

std::uint64_t FieldU64(const state::Operation& op, std::string_view key) {
  auto v = op.Field(key);
  if (!v) return 0;
  auto a = ParseAmount(*v);
  return a.ok() ? *a : 0;
}

std::string FieldText(const state::Operation& op, std::string_view key) {
  return std::string(op.Field(key).value_or(""));
}

Status OnlyEvidence(const state::Operation& op, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : op.evidence) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return Error::Invalid("invalid_evidence", "operation '" + op.type + "' carries unexpected evidence '" + k + "'");
  }
  return Ok();
}

Status CheckHexField(const state::Operation& op, std::string_view key, std::size_t bytes) {
  auto v = op.Field(key).value_or("");
  bool hex = v.size() == 2 * bytes &&
             std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex)
    return Error::Invalid("invalid_field", "field '" + std::string(key) + "' must be " + std::to_string(2 * bytes) +
                                               " lowercase hex characters");
  return Ok();
}

Status CheckPositiveField(const state::Operation& op, std::string_view key, std::string_view code) {
  if (FieldU64(op, key) == 0)
    return Error::Invalid(std::string(code), "field '" + std::string(key) + "' must be at least 1");
  return Ok();
}

Result<Validator> RequireValidator(state::OpContext& ctx, std::string_view validator_id) {
  auto v = LoadValidator(ctx.Sql(), validator_id);
  if (!v.ok()) return std::move(v).error();
  if (!v->has_value()) return Error::NotFound("validator_not_found", "no validator " + std::string(validator_id));
  return std::move(**v);
}

Result<Validator> RequireValidatorOfAccount(state::OpContext& ctx, std::string_view account_id) {
  auto v = LoadValidatorOfAccount(ctx.Sql(), account_id);
  if (!v.ok()) return std::move(v).error();
  if (!v->has_value())
    return Error::NotFound("validator_not_found",
                           "account " + std::string(account_id) + " has no validator: register one first");
  return std::move(**v);
}

Status SaveValidator(state::OpContext& ctx, const Validator& v) {
  KRAY_TRY(UpdateValidator(ctx.Sql(), v));
  ctx.Touch(ValidatorLeaf(v.validator_id));
  return Ok();
}

bool ValidatorSignatureValid(std::string_view pubkey, const Hash256& msg, std::string_view signature) {
  auto key = FromHexFixed<32>(pubkey);
  auto sig = FromHexFixed<64>(signature);
  return key && sig && crypto::SchnorrVerify(*key, msg, *sig);
}

std::optional<Hash256> ValidatorMessageOf(std::string_view chain_id, const state::Operation& op) {
  auto root = [&](std::string_view key) { return FromHexFixed<32>(op.Field(key).value_or("")).value_or(Hash256{}); };
  if (op.type == kAttestOp)
    return AttestationMessage(chain_id, FieldU64(op, "batch"), root("state_root"), root("tx_root"));
  if (op.type == kHeartbeatOp) return HeartbeatMessage(chain_id, FieldText(op, "validator_id"), FieldU64(op, "at"));
  return std::nullopt;
}

Result<Validator> SignedByValidator(store::Database& db, std::string_view chain_id, const state::Operation& op) {
  const std::string id = FieldText(op, "validator_id");
  auto v = LoadValidator(db, id);
  if (!v.ok()) return std::move(v).error();
  if (!v->has_value()) return Error::NotFound("validator_not_found", "no validator " + id);
  auto msg = ValidatorMessageOf(chain_id, op);
  if (!msg || !ValidatorSignatureValid((*v)->pubkey, *msg, FieldText(op, "validator_signature")))
    return Error::Unauthorized("invalid_signature",
                               std::string(op.type == kAttestOp ? "the attestation" : "the heartbeat") +
                                   " is not signed by validator " + id + "'s key");
  return std::move(**v);
}

Result<Amount> SlashStake(state::OpContext& ctx, Validator& v, std::uint32_t bps) {
  auto part = [bps](Amount a) { return MulDiv(a, bps, 10000).value_or(0); };  // <= a: bps <= 10000
  Amount burned = part(v.stake);
  v.stake -= burned;
  auto pending = PendingUnbondingOf(ctx.Sql(), v.validator_id);
  if (!pending.ok()) return std::move(pending).error();
  for (Unbonding& u : *pending) {
    Amount cut = part(u.amount);
    if (cut == 0) continue;
    u.amount -= cut;
    burned += cut;  // <= the account's staked balance, which bounds every sum here
    KRAY_TRY(UpdateUnbonding(ctx.Sql(), u));
    ctx.Touch(UnbondingLeaf(u.unbonding_id));
  }
  if (burned > 0) KRAY_TRY(ctx.Burn(v.account_id, kGasAsset, state::Bucket::kStaked, burned));
  auto total = CheckedAdd(v.slashed, burned);
  if (!total) return Error::Internal("validators: slashed total overflows");
  v.slashed = *total;
  return burned;
}

}  // namespace kray::validators::internal
