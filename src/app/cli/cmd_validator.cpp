// kray-cli attest / heartbeat / sign-attestation / sign-registration: what a
// validator signs with its validator key (docs/SIGNING.md, "Validator
// messages"). The key comes from -keyfile like every secret (secrets.h); it
// is the validator key, not the staking account's.
#include <nlohmann/json.hpp>

#include "cli.h"
#include "kray/core/bytes.h"
#include "kray/state/request.h"
#include "kray/validators/validators.h"
#include "secrets.h"

namespace kray::cli {
namespace {

using nlohmann::json;

struct ValidatorKey {
  crypto::SecretKey secret;
  std::string validator_id;
};

std::optional<ValidatorKey> ReadValidatorKey(const Options& o, const std::string& command, Args& a, std::ostream& err) {
  auto sk = ReadSecretKey(o, command, a, err);
  if (!sk) return std::nullopt;
  auto pub = crypto::XOnlyFromSecret(*sk);
  if (!pub) {
    err << "error: invalid secret key\n";
    return std::nullopt;
  }
  return ValidatorKey{*sk, validators::ValidatorId(*pub)};
}

std::optional<std::uint64_t> PositiveArg(const std::string& s) {
  auto n = ParseAmount(s);
  if (!n.ok() || *n == 0) return std::nullopt;
  return *n;
}

// The validator key's signature of the attestation of (batch, roots).
std::optional<std::string> SignAttestation(const Options& o, const ValidatorKey& k, std::uint64_t batch,
                                           const std::string& state_root, const std::string& tx_root,
                                           std::ostream& err) {
  auto sr = FromHexFixed<32>(state_root);
  auto tr = FromHexFixed<32>(tx_root);
  if (!sr || !tr) {
    err << "error: state_root and tx_root must be 64 hex characters\n";
    return std::nullopt;
  }
  auto sig = crypto::SchnorrSign(k.secret, validators::AttestationMessage(ChainId(o), batch, *sr, *tr));
  if (!sig) {
    err << "error: signing failed\n";
    return std::nullopt;
  }
  return ToHex(*sig);
}

std::optional<json> FetchJson(const Options& o, const std::string& target, std::ostream& err) {
  auto r = CallApi(o, "GET", target, "", err);
  if (!r) return std::nullopt;
  json j = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !j.is_object()) {
    err << "error: GET " << target << ": HTTP " << r->status << " " << r->body.substr(0, 200) << "\n";
    return std::nullopt;
  }
  return j;
}

}  // namespace

// attest <batch>: signs the batch's roots as the node publishes them and
// submits the attestation.
int CmdAttest(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto key = ReadValidatorKey(o, "attest", a, err);
  if (!key) return 1;
  auto batch = a.size() == 1 ? PositiveArg(a[0]) : std::nullopt;
  if (!batch) return Usage(err, "attest <batch number>   (with -keyfile=<validator key>)");
  auto header = FetchJson(o, "/api/rollup/batch/" + std::to_string(*batch), err);
  if (!header) return 1;
  std::string state_root = header->value("state_root", ""), tx_root = header->value("tx_root", "");
  auto sig = SignAttestation(o, *key, *batch, state_root, tx_root, err);
  if (!sig) return 1;
  json body = {{"validator_id", key->validator_id},
               {"batch", std::to_string(*batch)},
               {"state_root", state_root},
               {"tx_root", tx_root},
               {"validator_signature", *sig}};
  auto r = CallApi(o, "POST", "/api/validator/attest", body.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

// heartbeat: signs the node's current time and submits the heartbeat.
int CmdHeartbeat(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto key = ReadValidatorKey(o, "heartbeat", a, err);
  if (!key) return 1;
  if (!a.empty()) return Usage(err, "heartbeat   (with -keyfile=<validator key>)");
  auto state = FetchJson(o, "/api/validator/consensus/state", err);
  if (!state) return 1;
  if (!(*state)["node_time"].is_number_unsigned()) {
    err << "error: consensus/state has no node_time\n";
    return 1;
  }
  auto at = (*state)["node_time"].get<std::uint64_t>();
  auto sig = crypto::SchnorrSign(key->secret, validators::HeartbeatMessage(ChainId(o), key->validator_id, at));
  if (!sig) {
    err << "error: signing failed\n";
    return 1;
  }
  json body = {{"validator_id", key->validator_id}, {"at", std::to_string(at)}, {"validator_signature", ToHex(*sig)}};
  auto r = CallApi(o, "POST", "/api/validator/heartbeat", body.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

// sign-attestation <batch> <state_root> <tx_root>: offline; prints the
// message and the signature (equivocation evidence is two of these).
int CmdSignAttestation(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto key = ReadValidatorKey(o, "sign-attestation", a, err);
  if (!key) return 1;
  auto batch = a.size() == 3 ? PositiveArg(a[0]) : std::nullopt;
  if (!batch) return Usage(err, "sign-attestation <batch> <state_root> <tx_root>   (with -keyfile=<validator key>)");
  auto sig = SignAttestation(o, *key, *batch, a[1], a[2], err);
  if (!sig) return 1;
  Hash256 msg = validators::AttestationMessage(ChainId(o), *batch, *FromHexFixed<32>(a[1]), *FromHexFixed<32>(a[2]));
  out << json{{"validator_id", key->validator_id},
              {"chain_id", ChainId(o)},
              {"batch", *batch},
              {"state_root", a[1]},
              {"tx_root", a[2]},
              {"message", ToHex(msg)},
              {"signature", *sig}}
             .dump(2)
      << "\n";
  return 0;
}

// sign-registration <account>: offline; the validator key's proof of
// possession for validator_register by that staking account.
int CmdSignRegistration(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a = args;
  auto key = ReadValidatorKey(o, "sign-registration", a, err);
  if (!key) return 1;
  if (a.size() != 1)
    return Usage(err, "sign-registration <staking account id or address>   (with -keyfile=<validator key>)");
  ChainParams params;
  params.network = o.network;
  auto account = state::ResolveAccount(params, a[0]);
  if (!account.ok()) {
    err << "error: " << account.error().message << "\n";
    return 1;
  }
  Hash256 msg = validators::RegistrationMessage(ChainId(o), account->account_id);
  auto sig = crypto::SchnorrSign(key->secret, msg);
  auto pub = crypto::XOnlyFromSecret(key->secret);
  if (!sig || !pub) {
    err << "error: signing failed\n";
    return 1;
  }
  out << json{{"validator_id", key->validator_id},
              {"pubkey", ToHex(*pub)},
              {"account_id", account->account_id},
              {"chain_id", ChainId(o)},
              {"message", ToHex(msg)},
              {"validator_signature", ToHex(*sig)}}
             .dump(2)
      << "\n";
  return 0;
}

}  // namespace kray::cli
