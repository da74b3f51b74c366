// kray-cli op / optypes: produce, sign and send any registered operation
// with the node's own request code (state/request.h), so the CLI signs
// exactly the fields the node checks (docs/SIGNING.md, "One rule").
#include <nlohmann/json.hpp>

#include "../node/modules.h"
#include "cli.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/bytes.h"
#include "kray/state/executor.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "secrets.h"

namespace kray::cli {
namespace {

using nlohmann::json;

ChainParams Params(const Options& o) {
  ChainParams p;
  p.network = o.network;
  p.chain_id = ChainId(o);
  return p;
}

}  // namespace

std::optional<std::uint64_t> FetchNonce(const Options& o, const std::string& account_id, std::ostream& err) {
  auto bal = CallApi(o, "GET", "/api/account/" + account_id + "/balance", "", err);
  if (!bal) return std::nullopt;
  if (bal->status != 200) {
    err << "error: cannot read the nonce of " << account_id << ": HTTP " << bal->status << " "
        << bal->body.substr(0, 200) << "\n";
    return std::nullopt;
  }
  json bj = json::parse(bal->body, nullptr, false);
  if (bj.is_discarded() || !bj.contains("nonce") || !bj["nonce"].is_number_unsigned()) {
    err << "error: balance response has no nonce\n";
    return std::nullopt;
  }
  return bj["nonce"].get<std::uint64_t>();
}

// op <type> [field=value ...] [-nonce=N]
//   signed types: the -keyfile key signs (v1); the nonce is fetched unless given
//   public types (account_create): unsigned, or a proof of possession with -keyfile
//   operator types: sent with the operator token (-rpctoken or the cookie)
int CmdOp(const Options& o, const Args& args, std::ostream& out, std::ostream& err) {
  Args a;
  std::optional<std::uint64_t> nonce;
  for (const auto& arg : args) {
    if (arg.rfind("-nonce=", 0) == 0) {
      auto n = ParseAmount(arg.substr(7));
      if (!n.ok()) return Usage(err, "op <type> [field=value ...] [-nonce=N]");
      nonce = *n;
    } else {
      a.push_back(arg);
    }
  }
  const bool has_key = !o.keyfile.empty() || o.insecure_argv_key;
  std::optional<crypto::SecretKey> sk;
  if (has_key) {
    sk = ReadSecretKey(o, "op", a, err);
    if (!sk) return 1;
  }
  if (a.empty()) return Usage(err, "op <type> [field=value ...] [-nonce=N]   (types: kray-cli optypes)");
  const auto& registry = app::NodeModules();
  const state::OperationType* type = registry.FindOperation(a[0]);
  if (!type) {
    err << "error: unknown operation '" << a[0] << "' (kray-cli optypes lists them)\n";
    return 1;
  }
  state::OperationRequest req;
  req.type = a[0];
  req.auth = type->auth();
  for (std::size_t i = 1; i < a.size(); ++i) {
    auto eq = a[i].find('=');
    if (eq == std::string::npos || eq == 0) return Usage(err, "op <type> [field=value ...]");
    req.fields.emplace_back(a[i].substr(0, eq), a[i].substr(eq + 1));
  }
  if (req.auth == state::Auth::kSystem) {
    err << "error: '" << req.type << "' is a system operation: only the node generates it\n";
    return 1;
  }
  ChainParams params = Params(o);
  if (req.auth == state::Auth::kPublic && sk) req.auth = state::Auth::kSigned;
  if (req.auth == state::Auth::kSigned) {
    if (!sk) {
      err << "error: '" << req.type << "' is signed: give the key with -keyfile=<path>\n";
      return 1;
    }
    auto pub = crypto::XOnlyFromSecret(*sk);
    std::string address = Bip86Address(o, *pub);
    std::string account = state::AccountIdFromAddress(address);
    req.signer = type->auth() == state::Auth::kPublic ? address : account;
    if (type->consumes_nonce()) {
      if (!nonce) nonce = FetchNonce(o, account, err);
      if (!nonce) return 1;
      req.nonce = *nonce;
    }
    req.sig_scheme = "v1";
    req.signature_hex = std::string(128, '0');  // replaced below: the signature is not canonicalised
  }
  auto op = state::BuildOperation(params, registry, req);
  if (!op.ok()) {
    err << "error: " << op.error().code << ": " << op.error().message << "\n";
    return 1;
  }
  // The fields go as given (an account named by address keeps its address,
  // which the node records as evidence); the node makes them canonical with
  // the same code, so the signature covers the same message.
  json body = {{"op", op->type}};
  json fields = json::object();
  for (const auto& [k, v] : req.fields) fields[k] = v;
  body["fields"] = fields;
  if (op->auth == state::Auth::kSigned) {
    auto msg = state::SignedMessage(params, *type, *op);
    auto sig = msg.ok() ? crypto::SchnorrSign(*sk, *msg) : std::nullopt;
    if (!sig) {
      err << "error: signing failed\n";
      return 1;
    }
    body["account"] = req.signer;
    body["nonce"] = op->nonce;
    body["sig_scheme"] = "v1";
    body["signature"] = ToHex(*sig);
  }
  auto r = CallApi(o, "POST", "/api/operation/submit", body.dump(), err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

int CmdOpTypes(const Options& o, const Args& a, std::ostream& out, std::ostream& err) {
  if (!a.empty()) return Usage(err, "optypes");
  auto r = CallApi(o, "GET", "/api/operation/types", "", err);
  if (!r) return 1;
  return PrintReply(*r, out, err);
}

}  // namespace kray::cli
