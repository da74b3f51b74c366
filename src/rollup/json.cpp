// JSON wire format of the rollup endpoints (see include/kray/rollup/json.h).
#include "kray/rollup/json.h"

#include <nlohmann/json.hpp>

#include "kray/state/leaves.h"

namespace kray::rollup {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxItems = 1000000;
constexpr std::size_t kMaxFields = 256;

Json NullOr(const std::optional<std::string>& s) {
  return s ? Json(*s) : Json(nullptr);
}

Json HeaderObj(const BatchHeader& b) {
  Hash256 sr{}, tr{};
  if (auto x = FromHexFixed<32>(b.state_root)) sr = *x;
  if (auto x = FromHexFixed<32>(b.tx_root)) tr = *x;
  return Json{{"number", b.number},
              {"prev_state_root", b.prev_state_root},
              {"state_root", b.state_root},
              {"tx_root", b.tx_root},
              {"tx_count", b.tx_count},
              {"first_seq", b.first_seq},
              {"last_seq", b.last_seq},
              {"gas_collected", std::to_string(b.gas_collected)},
              {"gas_burned", std::to_string(b.gas_burned)},
              {"gas_retained", std::to_string(b.gas_retained)},
              {"created_at", b.created_at},
              {"anchor",
               {{"status", b.anchor_status},
                {"txid", NullOr(b.anchor_txid)},
                {"height", b.anchor_height ? Json(*b.anchor_height) : Json(nullptr)},
                {"payload_hex", ToHex(b.anchor_payload)},
                {"script_hex", ToHex(AnchorScript(static_cast<std::uint64_t>(b.number), sr, tr))}}}};
}

Json ProofObj(const SmtProof& p) {
  Json sib = Json::array();
  for (const auto& s : p.siblings) sib.push_back(ToHex(s));
  Json j{{"key", ToHex(p.key)}, {"siblings", sib}};
  if (p.terminal_is_leaf) {
    j["terminal"] = {{"type", "leaf"}, {"key", ToHex(p.leaf_key)}, {"value_hash", ToHex(p.leaf_value_hash)}};
  } else {
    j["terminal"] = {{"type", "empty"}};
  }
  return j;
}

// Typed getters for decoders; set `err` on the first problem.
struct Reader {
  std::string err;
  const Json* Field(const Json& o, const char* k) {
    if (!err.empty()) return nullptr;
    if (!o.is_object() || !o.contains(k)) {
      err = std::string("missing field ") + k;
      return nullptr;
    }
    return &o.at(k);
  }
  std::string Str(const Json& o, const char* k) {
    const Json* f = Field(o, k);
    if (!f) return {};
    if (!f->is_string()) {
      err = std::string("field ") + k + " must be a string";
      return {};
    }
    return f->get<std::string>();
  }
  std::int64_t Int(const Json& o, const char* k) {
    const Json* f = Field(o, k);
    if (!f) return 0;
    if (f->is_number_integer()) return f->get<std::int64_t>();
    if (f->is_string()) {
      auto a = ParseAmount(f->get<std::string>());
      if (a.ok()) return static_cast<std::int64_t>(*a);
    }
    err = std::string("field ") + k + " must be an integer";
    return 0;
  }
  Hash256 Hash(const Json& o, const char* k) {
    std::string s = Str(o, k);
    if (!err.empty()) return {};
    auto h = FromHexFixed<32>(s);
    if (!h) {
      err = std::string("field ") + k + " must be 32 bytes of hex";
      return {};
    }
    return *h;
  }
  Bytes Hex(const Json& o, const char* k) {
    std::string s = Str(o, k);
    if (!err.empty()) return {};
    auto b = FromHex(s);
    if (!b) err = std::string("field ") + k + " must be hex";
    return b.value_or(Bytes{});
  }
};

Result<Json> Parse(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error::Invalid("invalid_json", "response is not a JSON object");
  return j;
}

Error Bad(const std::string& why) {
  return Error::Invalid("invalid_field", why);
}

Json FieldsObj(const state::Fields& f) {
  Json j = Json::object();
  for (const auto& [k, v] : f) j[k] = v;
  return j;
}

Json OperationObj(const state::Operation& op) {
  Json touched = Json::array();
  for (const auto& t : op.touched) touched.push_back(std::to_string(t.type) + ":" + t.id);
  return Json{{"seq", op.seq},
              {"tx_hash", op.hash},
              {"type", op.type},
              {"auth", state::AuthName(op.auth)},
              {"signer", op.signer},
              {"nonce", op.nonce},
              {"sig_scheme", state::SigSchemeName(op.scheme)},
              {"signature", ToHex(op.signature)},
              {"fields", FieldsObj(op.fields)},
              {"evidence", FieldsObj(op.evidence)},
              {"timestamp", op.timestamp},
              {"gas_fee", std::to_string(op.gas_fee)},
              {"touched", touched}};
}

Result<state::Fields> FieldsFrom(const Json& j, const char* what) {
  if (!j.is_object() || j.size() > kMaxFields) return Bad(std::string(what) + " must be an object");
  state::Fields out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Bad(std::string(what) + "." + k + " must be a string");
    out.emplace_back(k, v.get<std::string>());
  }
  return out;  // nlohmann objects iterate in key order: already sorted
}

Result<state::Operation> OperationFrom(const Json& j) {
  Reader r;
  state::Operation op;
  op.seq = static_cast<std::uint64_t>(r.Int(j, "seq"));
  op.hash = r.Str(j, "tx_hash");
  op.type = r.Str(j, "type");
  auto auth = state::ParseAuth(r.Str(j, "auth"));
  op.signer = r.Str(j, "signer");
  op.nonce = static_cast<std::uint64_t>(r.Int(j, "nonce"));
  auto scheme = state::ParseSigScheme(r.Str(j, "sig_scheme"));
  op.signature = r.Hex(j, "signature");
  const Json* fields = r.Field(j, "fields");
  const Json* evidence = r.Field(j, "evidence");
  op.timestamp = r.Int(j, "timestamp");
  op.gas_fee = static_cast<Amount>(r.Int(j, "gas_fee"));
  if (!r.err.empty()) return Bad(r.err);
  if (!auth || !scheme) return Bad("unknown auth or sig_scheme");
  op.auth = *auth;
  op.scheme = *scheme;
  auto f = FieldsFrom(*fields, "fields");
  if (!f.ok()) return std::move(f).error();
  auto e = FieldsFrom(*evidence, "evidence");
  if (!e.ok()) return std::move(e).error();
  op.fields = std::move(*f);
  op.evidence = std::move(*e);
  const Json* touched = r.Field(j, "touched");
  if (!r.err.empty()) return Bad(r.err);
  if (!touched->is_array() || touched->size() > kMaxFields * 16) return Bad("touched must be an array");
  for (const auto& t : *touched) {
    if (!t.is_string()) return Bad("touched entries must be strings");
    const auto& s = t.get_ref<const std::string&>();
    auto colon = s.find(':');
    std::int64_t type = -1;
    if (colon != std::string::npos && colon > 0 && colon <= 3) {
      auto a = ParseAmount(std::string_view(s).substr(0, colon));
      if (a.ok() && *a <= 255) type = static_cast<std::int64_t>(*a);
    }
    if (type < 0) return Bad("touched entries are \"<type>:<id>\"");
    op.touched.push_back(state::LeafId{static_cast<std::uint8_t>(type), s.substr(colon + 1)});
  }
  return op;
}

}  // namespace

std::string OperationJson(const state::Operation& op) {
  return OperationObj(op).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<state::Operation> OperationFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  return OperationFrom(*j);
}

std::string RollupStatusJson(const RollupStatus& st, std::int64_t batches) {
  return Json{{"state_root", st.state_root},
              {"genesis_root", st.genesis_root},
              {"genesis_hash", st.genesis_hash},
              {"last_batch", st.last_batch()},
              {"batches", batches},
              {"open_batch", st.open_batch},
              {"open_since", st.open_since},
              {"last_batched_seq", st.batched_seq},
              {"applied_seq", st.applied_seq},
              {"oldest_proof_batch", st.oldest_proof_batch}}
      .dump();
}

std::string BatchJson(const BatchHeader& b) {
  return HeaderObj(b).dump();
}

std::string BatchListJson(const std::vector<BatchHeader>& batches, std::int64_t total, int limit,
                          std::int64_t next_before) {
  Json arr = Json::array();
  for (const auto& b : batches) arr.push_back(HeaderObj(b));
  return Json{{"batches", arr},
              {"total", total},
              {"limit", limit},
              {"next_before", next_before > 0 ? Json(next_before) : Json(nullptr)}}
      .dump();
}

std::string BatchOperationsJson(const BatchHeader& b, const std::vector<state::Operation>& ops,
                                std::optional<std::int64_t> next_after) {
  Json arr = Json::array();
  for (const auto& op : ops) arr.push_back(OperationObj(op));
  return Json{
      {"batch", HeaderObj(b)}, {"operations", arr}, {"next_after", next_after ? Json(*next_after) : Json(nullptr)}}
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string LeafProofJson(const LeafProof& p) {
  Json j{{"leaf", {{"type", p.leaf.type}, {"id", p.leaf.id}}},
         {"batch", p.batch},
         {"at_head", p.at_head},
         {"root", p.root},
         {"included", !p.leaf_data.empty()},
         {"leaf_data", ToHex(p.leaf_data)},
         {"proof", ProofObj(p.proof)}};
  if (p.leaf.type == state::kAccountLeaf) j["account_id"] = p.leaf.id;
  return j.dump();
}

Result<LeafProof> LeafProofFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  LeafProof p;
  const Json* leaf = r.Field(*j, "leaf");
  if (!r.err.empty()) return Bad(r.err);
  std::int64_t type = r.Int(*leaf, "type");
  p.leaf.id = r.Str(*leaf, "id");
  if (type < 0 || type > 255) return Bad("leaf.type must be 0..255");
  p.leaf.type = static_cast<std::uint8_t>(type);
  p.batch = r.Int(*j, "batch");
  const Json* at_head = r.Field(*j, "at_head");
  p.root = r.Str(*j, "root");
  p.leaf_data = r.Hex(*j, "leaf_data");
  const Json* proof = r.Field(*j, "proof");
  if (!r.err.empty()) return Bad(r.err);
  p.at_head = at_head->is_boolean() && at_head->get<bool>();
  p.proof.key = r.Hash(*proof, "key");
  const Json* sib = r.Field(*proof, "siblings");
  const Json* term = r.Field(*proof, "terminal");
  if (!r.err.empty()) return Bad(r.err);
  if (!sib->is_array() || sib->size() > static_cast<std::size_t>(kSmtDepth)) return Bad("siblings: at most 256 hashes");
  for (const auto& s : *sib) {
    if (!s.is_string()) return Bad("siblings must be hex strings");
    auto h = FromHexFixed<32>(s.get<std::string>());
    if (!h) return Bad("sibling is not 32 bytes of hex");
    p.proof.siblings.push_back(*h);
  }
  std::string type_name = r.Str(*term, "type");
  if (type_name == "leaf") {
    p.proof.terminal_is_leaf = true;
    p.proof.leaf_key = r.Hash(*term, "key");
    p.proof.leaf_value_hash = r.Hash(*term, "value_hash");
  } else if (r.err.empty() && type_name != "empty") {
    return Bad("terminal.type must be leaf or empty");
  }
  if (!r.err.empty()) return Bad(r.err);
  return p;
}

namespace {
Result<BatchHeader> HeaderFrom(const Json& j) {
  Reader r;
  BatchHeader b;
  b.number = r.Int(j, "number");
  b.prev_state_root = r.Str(j, "prev_state_root");
  b.state_root = r.Str(j, "state_root");
  b.tx_root = r.Str(j, "tx_root");
  b.tx_count = r.Int(j, "tx_count");
  b.first_seq = r.Int(j, "first_seq");
  b.last_seq = r.Int(j, "last_seq");
  b.gas_collected = static_cast<Amount>(r.Int(j, "gas_collected"));
  b.gas_burned = static_cast<Amount>(r.Int(j, "gas_burned"));
  b.gas_retained = static_cast<Amount>(r.Int(j, "gas_retained"));
  b.created_at = r.Int(j, "created_at");
  const Json* anchor = r.Field(j, "anchor");
  if (anchor) b.anchor_status = r.Str(*anchor, "status");
  if (!r.err.empty()) return Bad(r.err);
  return b;
}
}  // namespace

Result<BatchHeader> BatchFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  return HeaderFrom(*j);
}

Result<BatchOperationsPage> BatchOperationsFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  const Json* header = r.Field(*j, "batch");
  const Json* ops = r.Field(*j, "operations");
  const Json* next = r.Field(*j, "next_after");
  if (!r.err.empty()) return Bad(r.err);
  if (!ops->is_array() || ops->size() > kMaxItems) return Bad("operations must be an array");
  BatchOperationsPage out;
  auto h = HeaderFrom(*header);
  if (!h.ok()) return std::move(h).error();
  out.header = std::move(*h);
  for (const auto& o : *ops) {
    auto op = OperationFrom(o);
    if (!op.ok()) return std::move(op).error();
    out.ops.push_back(std::move(*op));
  }
  if (next->is_number_integer()) out.next_after = next->get<std::int64_t>();
  return out;
}

Result<GenesisInfo> GenesisFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  GenesisInfo g;
  g.genesis_root = r.Str(*j, "genesis_root");
  g.genesis_hash = r.Str(*j, "genesis_hash");
  g.genesis_file = r.Str(*j, "genesis");
  if (!r.err.empty()) return Bad(r.err);
  return g;
}

}  // namespace kray::rollup
