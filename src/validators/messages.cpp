// Validator messages and names (see validators.h, docs/SIGNING.md
// "Validator messages").
#include "kray/crypto/hash.h"
#include "kray/state/leaves.h"
#include "kray/validators/types.h"
#include "kray/validators/validators.h"

namespace kray::validators {

std::string ValidatorId(const crypto::XOnlyPubKey& key) {
  return "val_" + ToHex(crypto::Sha256(key)).substr(0, 32);
}

Hash256 AttestationMessage(std::string_view chain_id, std::uint64_t batch, const Hash256& state_root,
                           const Hash256& tx_root) {
  Bytes ser;
  state::PutLp(ser, chain_id);
  state::PutU64(ser, batch);
  ser.insert(ser.end(), state_root.begin(), state_root.end());
  ser.insert(ser.end(), tx_root.begin(), tx_root.end());
  return crypto::TaggedHash("KRAY/validator/attest/v1", ser);
}

Hash256 HeartbeatMessage(std::string_view chain_id, std::string_view validator_id, std::uint64_t at) {
  Bytes ser;
  state::PutLp(ser, chain_id);
  state::PutLp(ser, validator_id);
  state::PutU64(ser, at);
  return crypto::TaggedHash("KRAY/validator/heartbeat/v1", ser);
}

Hash256 RegistrationMessage(std::string_view chain_id, std::string_view account_id) {
  Bytes ser;
  state::PutLp(ser, chain_id);
  state::PutLp(ser, account_id);
  return crypto::TaggedHash("KRAY/validator/register/v1", ser);
}

bool IsHousekeeping(std::string_view op_type) {
  return op_type == kBatchOp || op_type == kAttestOp || op_type == kHeartbeatOp;
}

std::string_view ValidatorStatusName(ValidatorStatus s) {
  switch (s) {
    case ValidatorStatus::kActive:
      return "active";
    case ValidatorStatus::kInactive:
      return "inactive";
    case ValidatorStatus::kExited:
      return "exited";
  }
  return "active";
}

std::string_view SlashKindName(SlashKind k) {
  return k == SlashKind::kEquivocation ? "equivocation" : "downtime";
}

}  // namespace kray::validators
