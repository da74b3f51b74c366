#include "kray/testsupport/ops.h"

#include "kray/core/bytes.h"
#include "kray/state/core_module.h"
#include "kray/state/executor.h"

namespace kray::test {

state::OperationRequest TransferRequest(const std::string& from, const std::string& to, Amount amount,
                                        std::uint64_t nonce, const std::string& asset, const std::string& data,
                                        const std::string& scheme) {
  state::OperationRequest r;
  r.type = std::string(state::kTransferOp);
  r.signer = from;
  r.nonce = nonce;
  r.sig_scheme = scheme;
  r.fields = {{"to_account", to}, {"amount", std::to_string(amount)}, {"asset", asset}};
  if (!data.empty()) r.fields.emplace_back("data", data);
  return r;
}

Result<state::Operation> SignOperation(const ChainParams& params, const state::ModuleRegistry& registry,
                                       state::OperationRequest request, const TestKey& key) {
  // The signature is not part of what is canonicalised: sign the result.
  request.signature_hex = std::string(128, '0');
  auto op = state::BuildOperation(params, registry, request);
  if (!op.ok()) return op;
  const state::OperationType* type = registry.FindOperation(op->type);
  auto msg = state::SignedMessage(params, *type, *op);
  if (!msg.ok()) return std::move(msg).error();
  auto sig = crypto::SchnorrSign(key.secret, *msg);
  if (!sig) return Error::Internal("signing failed");
  op->signature.assign(sig->begin(), sig->end());
  return op;
}

Result<state::Operation> AccountCreate(const ChainParams& params, const state::ModuleRegistry& registry,
                                       const TestKey& key, bool sign) {
  state::OperationRequest r;
  r.type = std::string(state::kAccountCreateOp);
  r.auth = state::Auth::kPublic;
  r.fields = {{"l1_address", key.address}, {"pubkey", ToHex(key.pub)}};
  if (!sign) return state::BuildOperation(params, registry, r);
  r.auth = state::Auth::kSigned;
  r.signer = key.address;
  return SignOperation(params, registry, r, key);
}

}  // namespace kray::test
