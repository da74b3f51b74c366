// JSON wire format of the rollup endpoints (see include/kray/rollup/json.h).
#include "kray/rollup/json.h"

#include <nlohmann/json.hpp>

namespace kray::rollup {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxItems = 1000000;

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
              {"gas_distributed", std::to_string(b.gas_distributed)},
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

}  // namespace

std::string RollupStatusJson(const RollupStatus& st, std::int64_t batches) {
  return Json{{"state_root", st.state_root},    {"genesis_root", st.genesis_root},
              {"last_batch", st.last_batch()},  {"batches", batches},
              {"open_batch", st.open_batch},    {"open_since", st.open_since},
              {"last_batched_seq", st.last_seq}}
      .dump();
}

std::string BatchJson(const BatchHeader& b, const std::vector<std::string>* tx_hashes) {
  Json j = HeaderObj(b);
  if (tx_hashes) j["tx_hashes"] = *tx_hashes;
  return j.dump();
}

std::string BatchListJson(const std::vector<BatchHeader>& batches, std::int64_t total, int limit, int offset) {
  Json arr = Json::array();
  for (const auto& b : batches) arr.push_back(HeaderObj(b));
  return Json{{"batches", arr}, {"total", total}, {"limit", limit}, {"offset", offset}}.dump();
}

std::string BatchTransactionsJson(const BatchHeader& b, const std::vector<state::TxRecord>& txs,
                                  const std::vector<AccountEvent>& events) {
  Json arr = Json::array();
  for (const auto& t : txs)
    arr.push_back({{"seq", t.seq},
                   {"tx_hash", t.tx_hash},
                   {"type", t.type},
                   {"from_id", t.from_id},
                   {"to_id", t.to_id},
                   {"to_address", t.to_address},
                   {"asset", t.asset},
                   {"amount", std::to_string(t.amount)},
                   {"gas_fee", std::to_string(t.gas_fee)},
                   {"nonce", t.nonce},
                   {"signature", t.signature},
                   {"sig_scheme", t.sig_scheme},
                   {"data", t.data},
                   {"confirmed_at", t.confirmed_at}});
  Json ev = Json::array();
  for (const auto& e : events)
    ev.push_back({{"id", e.id},
                  {"account_id", e.account_id},
                  {"l1_address", e.l1_address},
                  {"pubkey", e.pubkey},
                  {"after_seq", e.after_seq}});
  return Json{{"batch", HeaderObj(b)}, {"transactions", arr}, {"account_events", ev}}.dump();
}

std::string GenesisJson(const RollupStatus& st, const std::vector<Bytes>& leaves) {
  Json arr = Json::array();
  for (const auto& l : leaves) arr.push_back(ToHex(l));
  return Json{{"genesis_root", st.genesis_root}, {"base_seq", st.base_seq}, {"leaves", arr}}.dump();
}

std::string AccountProofJson(const AccountProof& p) {
  return Json{{"account_id", p.account_id},
              {"batch", p.batch},
              {"at_head", p.at_head},
              {"root", p.root},
              {"included", !p.leaf_data.empty()},
              {"leaf_data", ToHex(p.leaf_data)},
              {"proof", ProofObj(p.proof)}}
      .dump();
}

Result<AccountProof> AccountProofFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  AccountProof p;
  p.account_id = r.Str(*j, "account_id");
  p.batch = r.Int(*j, "batch");
  p.root = r.Str(*j, "root");
  p.leaf_data = r.Hex(*j, "leaf_data");
  const Json* proof = r.Field(*j, "proof");
  if (!r.err.empty()) return Bad(r.err);
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
  std::string type = r.Str(*term, "type");
  if (type == "leaf") {
    p.proof.terminal_is_leaf = true;
    p.proof.leaf_key = r.Hash(*term, "key");
    p.proof.leaf_value_hash = r.Hash(*term, "value_hash");
  } else if (r.err.empty() && type != "empty") {
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
  b.gas_distributed = static_cast<Amount>(r.Int(j, "gas_distributed"));
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

Result<BatchContents> BatchTransactionsFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  const Json* header = r.Field(*j, "batch");
  const Json* txs = r.Field(*j, "transactions");
  const Json* evs = r.Field(*j, "account_events");
  if (!r.err.empty()) return Bad(r.err);
  if (!txs->is_array() || !evs->is_array() || txs->size() > kMaxItems || evs->size() > kMaxItems)
    return Bad("transactions/account_events must be arrays");
  BatchContents out;
  auto h = HeaderFrom(*header);
  if (!h.ok()) return std::move(h).error();
  out.header = std::move(*h);
  for (const auto& t : *txs) {
    state::TxRecord rec;
    rec.seq = static_cast<std::uint64_t>(r.Int(t, "seq"));
    rec.tx_hash = r.Str(t, "tx_hash");
    rec.type = r.Str(t, "type");
    rec.from_id = r.Str(t, "from_id");
    rec.to_id = r.Str(t, "to_id");
    rec.to_address = r.Str(t, "to_address");
    rec.asset = r.Str(t, "asset");
    rec.amount = static_cast<Amount>(r.Int(t, "amount"));
    rec.gas_fee = static_cast<Amount>(r.Int(t, "gas_fee"));
    rec.nonce = static_cast<std::uint64_t>(r.Int(t, "nonce"));
    rec.signature = r.Str(t, "signature");
    rec.sig_scheme = r.Str(t, "sig_scheme");
    rec.data = r.Str(t, "data");
    rec.confirmed_at = r.Int(t, "confirmed_at");
    rec.status = "confirmed";
    if (!r.err.empty()) return Bad(r.err);
    out.txs.push_back(std::move(rec));
  }
  for (const auto& e : *evs) {
    AccountEvent ev;
    ev.id = r.Int(e, "id");
    ev.account_id = r.Str(e, "account_id");
    ev.l1_address = r.Str(e, "l1_address");
    ev.pubkey = r.Str(e, "pubkey");
    ev.after_seq = r.Int(e, "after_seq");
    if (!r.err.empty()) return Bad(r.err);
    out.events.push_back(std::move(ev));
  }
  return out;
}

Result<GenesisSnapshot> GenesisFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  GenesisSnapshot g;
  g.genesis_root = r.Str(*j, "genesis_root");
  g.base_seq = r.Int(*j, "base_seq");
  const Json* leaves = r.Field(*j, "leaves");
  if (!r.err.empty()) return Bad(r.err);
  if (!leaves->is_array() || leaves->size() > kMaxItems) return Bad("leaves must be an array");
  for (const auto& l : *leaves) {
    if (!l.is_string()) return Bad("leaves must be hex strings");
    auto b = FromHex(l.get<std::string>());
    if (!b) return Bad("leaf is not hex");
    g.leaves.push_back(std::move(*b));
  }
  return g;
}

Result<std::int64_t> BatchListTotalFromJson(std::string_view text) {
  auto j = Parse(text);
  if (!j.ok()) return std::move(j).error();
  Reader r;
  std::int64_t total = r.Int(*j, "total");
  if (!r.err.empty()) return Bad(r.err);
  return total;
}

}  // namespace kray::rollup
