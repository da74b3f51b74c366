// libFuzzer target for the path every request takes from raw bytes to a
// typed request: Beast's request parser with the server's header and body
// limits and the HttpRequest conversion (kray::api::ParseHttpRequest, the code
// the server runs), the query helpers, ParseJsonObject, and the typed parsers
// the handlers call (RequestFromBody + state::BuildOperation for /send and
// each /batch item, the account-create fields, estimate-gas's tx_type,
// CanonicalP2trAddress on every address-like field).
// Properties besides "no crash / no sanitizer report": errors are 400/413
// kinds only; the conversion's invariants hold; an accepted JSON object
// re-parses from its own dump; accepted transfers are within the documented
// bounds; a canonical address is lower case and canonical again; a body the
// flat path reads (FlatBody) is read by the tree too, into the same requests;
// the input's bytes as a JSON string are written as nlohmann writes them
// (AppendJsonString, which every response's strings go through).
// Build and run: docs/FUZZING.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../src/api/flat_json.h"
#include "../src/api/json_writer.h"
#include "../src/api/op_json.h"
#include "kray/api/json_util.h"
#include "kray/api/request_parser.h"
#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/core/params.h"
#include "kray/state/core_module.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"

namespace {

using kray::ErrorKind;
using kray::api::Json;

void Check(bool cond) {
  if (!cond) std::abort();
}

const kray::ChainParams& Params() {
  static const kray::ChainParams params;  // regtest, the default assets
  return params;
}

void CheckRequest(const kray::api::ParsedRequest& p, std::size_t size) {
  const kray::api::HttpRequest& req = p.request;
  Check(p.consumed > 0 && p.consumed <= size);
  Check(req.body.size() <= kray::api::kBodyLimit);
  Check(req.method != "HEAD" && (!p.head || req.method == "GET"));
  Check(req.target.compare(0, req.path.size(), req.path) == 0);  // path is the target's prefix
  Check(req.path.find('?') == std::string::npos);
  Check(req.query.empty() || req.target.size() > req.path.size());
  auto limit = kray::api::QueryInt(req, "limit", 50, 1, 1000);
  Check(!limit.ok() || (*limit >= 1 && *limit <= 1000));
  (void)kray::api::QueryInt(req, "offset", 0, 0, 1000000000);
}

void CheckAddress(const Json& body, const char* key) {
  auto text = kray::api::OptionalString(body, key, "");
  if (!text.ok() || text->empty()) return;
  auto canonical = kray::bitcoin::CanonicalP2trAddress(Params().hrp(), *text);
  if (!canonical.ok()) {
    Check(canonical.error().kind == ErrorKind::kInvalidInput);
    return;
  }
  for (char c : *canonical) Check(!(c >= 'A' && c <= 'Z'));
  auto again = kray::bitcoin::CanonicalP2trAddress(Params().hrp(), *canonical);
  Check(again.ok() && *again == *canonical);
}

const kray::state::ModuleRegistry& Registry() {
  static const kray::state::ModuleRegistry registry;  // the core ledger
  return registry;
}

void CheckTransfer(const Json& item) {
  const auto& type = *Registry().FindOperation(kray::state::kTransferOp);
  auto req = kray::api::RequestFromBody(item, type, {"tx_type"});
  if (!req.ok()) {
    Check(req.error().kind == ErrorKind::kInvalidInput);
    return;
  }
  auto op = kray::state::BuildOperation(Params(), Registry(), *req);
  if (!op.ok()) {
    Check(op.error().kind == ErrorKind::kInvalidInput);
    return;
  }
  auto amount = kray::ParseAmount(op->Field("amount").value_or(""));
  Check(amount.ok() && *amount <= kray::kMaxAmount && std::to_string(*amount) == *op->Field("amount"));
  Check(op->nonce <= kray::kMaxAmount);
  Check(op->Field("data").value_or("").size() <= 1024);
  Check(kray::state::IsAccountId(op->signer) && kray::state::IsAccountId(op->Field("to").value_or("")));
  Check(op->hash.size() == 64);
}

std::string Describe(const kray::Result<kray::state::OperationRequest>& r) {
  if (!r.ok()) return "error " + r.error().code + " " + r.error().message;
  std::string s = r->type + "|" + r->signer + "|" + (r->nonce ? std::to_string(*r->nonce) : "-") + "|" + r->sig_scheme +
                  "|" + r->signature_hex;
  for (const auto& [k, v] : r->fields) s += "|" + k + "=" + v;
  return s;
}

// The flat path (flat_json.h) reads only what the tree reads, and the same way.
void CheckSameRequest(const kray::api::FlatObject& flat, const Json& tree) {
  for (const auto* type : Registry().operations()) {
    Check(Describe(kray::api::RequestFromBody(flat, *type, {"tx_type"})) ==
          Describe(kray::api::RequestFromBody(tree, *type, {"tx_type"})));
  }
}

void CheckFlatBody(const std::string& text, const kray::Result<Json>& tree) {
  static kray::api::FlatBody flat;  // reused across inputs, as krayd reuses one per thread
  if (flat.ParseObject(text)) {
    Check(tree.ok() && tree->size() == flat.object().members().size());
    CheckSameRequest(flat.object(), *tree);
  }
  if (flat.ParseArrayOf(text, "transactions")) {
    Check(tree.ok() && tree->size() == 1);
    const Json& items = (*tree)["transactions"];
    Check(items.is_array() && items.size() == flat.items().size());
    for (std::size_t i = 0; i < items.size(); ++i) CheckSameRequest(flat.items()[i], items[i]);
  }
}

void CheckBody(const std::string& text) {
  auto body = kray::api::ParseJsonObject(text);
  CheckFlatBody(text, body);
  if (!body.ok()) {
    Check(body.error().code == "invalid_json" && body.error().kind == ErrorKind::kInvalidInput);
    return;
  }
  Check(body->is_object());
  // No duplicate was dropped silently, so the dump holds every member and
  // parses back (floats out of range dump as null, hence sizes only).
  auto again = kray::api::ParseJsonObject(body->dump(-1, ' ', false, Json::error_handler_t::replace));
  Check(again.ok() && again->size() == body->size());

  CheckTransfer(*body);                                                             // POST /api/transaction/send
  if (auto it = body->find("transactions"); it != body->end() && it->is_array()) {  // /batch
    std::size_t n = 0;
    for (const Json& item : *it) {
      if (++n > 5000) break;  // the handler's batch limit
      CheckTransfer(item);
    }
  }
  auto pubkey = kray::api::OptionalString(*body, "pubkey", "");  // POST /api/account/create
  if (pubkey.ok() && !pubkey->empty()) (void)kray::bitcoin::ParseAccountPubKey(*pubkey);
  for (const char* key : {"l1_address", "from_account", "to_account"}) CheckAddress(*body, key);
  auto type = kray::api::OptionalString(*body, "tx_type", "transfer");  // estimate-gas
  if (type.ok()) (void)kray::ParseTxType(*type);
}

}  // namespace

// Appended after text already in the buffer, which must stay as it was.
void CheckJsonString(std::string_view bytes) {
  std::string out = "{\"k\":";
  kray::api::AppendJsonString(out, bytes);
  Check(out == "{\"k\":" + Json(std::string(bytes)).dump(-1, ' ', false, Json::error_handler_t::replace));
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  CheckJsonString(raw);
  auto parsed = kray::api::ParseHttpRequest(raw);
  if (!parsed.ok()) {
    Check(parsed.error().kind == ErrorKind::kInvalidInput || parsed.error().kind == ErrorKind::kTooLarge);
    return 0;
  }
  CheckRequest(*parsed, size);
  CheckBody(parsed->request.body);
  return 0;
}
