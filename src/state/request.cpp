// Requests -> canonical operations (see include/kray/state/request.h).
#include "kray/state/request.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/state/executor.h"
#include "kray/state/tx_message.h"

namespace kray::state {
namespace {

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); });
}
bool HasLower(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c); });
}
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

Error BadField(const FieldSpec& spec, std::string_view why) {
  return Error::Invalid("invalid_field", "field '" + std::string(spec.name) + "' " + std::string(why));
}

Result<std::string> CanonicalDecimal(const FieldSpec& spec, std::string_view raw, const char* code) {
  auto v = ParseAmount(raw);
  if (!v.ok()) return Error::Invalid(code, "field '" + std::string(spec.name) + "': " + v.error().message);
  std::string canonical = std::to_string(*v);
  if (canonical != raw)
    return Error::Invalid(code,
                          "field '" + std::string(spec.name) + "' must be a canonical decimal (no leading zeros)");
  return canonical;
}

Result<std::string> CanonicalAnyAddress(const ChainParams& params, std::string_view raw) {
  // bech32 is case-insensitive but must not mix cases (BIP-173); base58 is
  // case-sensitive and always has lower-case letters.
  std::string text = HasUpper(raw) && !HasLower(raw) ? Lower(raw) : std::string(raw);
  auto script = bitcoin::AddressToScriptPubKey(text, params.network);
  if (!script.ok())
    return Error::Invalid("invalid_address", "'" + std::string(raw) + "' is not an address of " +
                                                 std::string(NetworkName(params.network)) + ": " +
                                                 script.error().message);
  auto canonical = bitcoin::ScriptPubKeyToAddress(*script, params.network);
  if (!canonical.ok()) return std::move(canonical).error();
  if (canonical->rfind(std::string(params.hrp()) + "1p", 0) == 0) return CanonicalP2trAddress(params, *canonical);
  return canonical;
}

bool IsIdChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == ':' || c == '.' || c == '-';
}

const FieldSpec* FindSpec(const OperationType& type, std::string_view name) {
  for (const auto& spec : type.fields())
    if (spec.name == name || (!spec.request_name.empty() && spec.request_name == name)) return &spec;
  return nullptr;
}

}  // namespace

namespace {

// Canonicalising an address costs a bech32m decode and a libsecp256k1 point
// decompression (~9 us), its account id a SHA-256; the same few accounts
// are named over and over (a legacy transfer names each of its two
// accounts twice), so successful results are memoised, both pure functions
// of hrp and text. Thread-safe.
//
// Two tiers, because an address is resolved before any signature is
// checked: `recent` holds whatever any request resolved and is small
// (16 x 1,024 entries, ~4 MB: an unauthenticated caller sending fresh
// addresses can only churn it), `kept` holds the addresses that committed
// signed operations were built from (KeepResolvedAddresses) and is large
// (16 x 65,536, ~270 MB at its bound): filling it takes committed
// operations, each a nonce and gas. A shard's tier that fills up is cleared.
class AddressCache {
 public:
  std::optional<ResolvedAccount> Find(const std::string& key) {
    Shard& s = ShardOf(key);
    std::shared_lock lock(s.mu);
    auto it = s.kept.find(key);
    if (it == s.kept.end()) {
      it = s.recent.find(key);
      if (it == s.recent.end()) return std::nullopt;
    }
    const Entry& e = it->second;
    ResolvedAccount r{std::string(), e.address};
    r.account_id.reserve(kIdPrefix.size() + e.id_hex.size());
    r.account_id.append(kIdPrefix).append(e.id_hex.data(), e.id_hex.size());
    return r;
  }
  void Put(std::string key, const ResolvedAccount& r) {
    Entry e{r.address, {}};
    if (r.account_id.size() != kIdPrefix.size() + e.id_hex.size()) return;  // not of AccountIdFromAddress's form
    std::copy(r.account_id.begin() + kIdPrefix.size(), r.account_id.end(), e.id_hex.begin());
    Shard& s = ShardOf(key);
    std::unique_lock lock(s.mu);
    if (s.recent.size() >= kRecentPerShard) s.recent.clear();
    s.recent.emplace(std::move(key), std::move(e));
  }
  // Moves a recent entry to the kept tier (nothing if it is not recent:
  // already kept, or cleared since it was resolved).
  void Keep(const std::string& key) {
    Shard& s = ShardOf(key);
    {
      std::shared_lock lock(s.mu);
      if (s.kept.count(key) || !s.recent.count(key)) return;
    }
    Map full;  // a full tier's ~65,536 entries are freed after the lock is released
    std::unique_lock lock(s.mu);
    auto node = s.recent.extract(key);
    if (node.empty()) return;
    if (s.kept.size() >= kKeptPerShard) full.swap(s.kept);
    s.kept.insert(std::move(node));
  }
  AddressMemoSize Size() {
    AddressMemoSize n;
    for (Shard& s : shards_) {
      std::shared_lock lock(s.mu);
      n.recent += s.recent.size();
      n.kept += s.kept.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t kShards = 16, kRecentPerShard = 1 << 10, kKeptPerShard = 1 << 16;
  static constexpr std::string_view kIdPrefix = "kray_";
  // The id's hex digits in place: up to a million entries, a heap block
  // each would be ~50 MB more.
  struct Entry {
    std::string address;
    std::array<char, 32> id_hex;
  };
  using Map = std::unordered_map<std::string, Entry>;
  struct Shard {
    std::shared_mutex mu;
    Map recent, kept;  // guarded by mu
  };
  Shard& ShardOf(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }
  std::array<Shard, kShards> shards_;
};

AddressCache& Addresses() {
  static AddressCache cache;
  return cache;
}

void MemoKeyInto(std::string& key, const ChainParams& params, std::string_view text) {
  const std::string_view hrp = params.hrp();
  key.clear();
  key.reserve(hrp.size() + 1 + text.size());
  key.append(hrp).append(1, '\0').append(text);
}
std::string MemoKey(const ChainParams& params, std::string_view text) {
  std::string key;
  MemoKeyInto(key, params, text);
  return key;
}

// A P2TR address of the network: its canonical form and its account id.
Result<ResolvedAccount> ResolveP2trAddress(const ChainParams& params, std::string_view text) {
  std::string key = MemoKey(params, text);
  if (auto hit = Addresses().Find(key)) return std::move(*hit);
  auto canonical = bitcoin::CanonicalP2trAddress(params.hrp(), text);
  if (!canonical.ok()) {
    // One stable code for the API; the bitcoin module's code says which rule failed.
    return Error::Invalid("invalid_address", "'" + std::string(text) + "' is not a usable P2TR address of " +
                                                 std::string(NetworkName(params.network)) + ": " +
                                                 canonical.error().message + " (" + canonical.error().code + ")");
  }
  ResolvedAccount resolved{AccountIdFromAddress(*canonical), std::move(*canonical)};
  Addresses().Put(std::move(key), resolved);
  return resolved;
}

// Evidence that holds an address as a request named it: "<field>_address"
// (canonical) and the legacy scheme's raw strings, unless they are ids.
bool IsResolvedAddress(std::string_view name, std::string_view value) {
  if (name.size() > 8 && name.substr(name.size() - 8) == "_address") return true;
  return name.substr(0, 7) == "legacy_" && value.substr(0, 5) != "kray_";
}

}  // namespace

bool NamesAnAddress(const Operation& op) {
  return std::any_of(op.evidence.begin(), op.evidence.end(),
                     [](const auto& e) { return IsResolvedAddress(e.first, e.second); });
}

void KeepResolvedAddresses(const ChainParams& params, const Operation& op) {
  // On the thread that applied the group (the sequencer's, or a caller's
  // when the sequencer was idle), which then answers: the key is built in
  // a buffer that keeps its capacity, not allocated per address.
  thread_local std::string key;
  for (const auto& [name, value] : op.evidence) {
    if (!IsResolvedAddress(name, value)) continue;
    MemoKeyInto(key, params, value);
    Addresses().Keep(key);
  }
}

AddressMemoSize AddressMemoEntries() {
  return Addresses().Size();
}

Result<std::string> CanonicalP2trAddress(const ChainParams& params, std::string_view text) {
  auto resolved = ResolveP2trAddress(params, text);
  if (!resolved.ok()) return std::move(resolved).error();
  return std::move(resolved->address);
}

Result<ResolvedAccount> ResolveAccount(const ChainParams& params, std::string_view who) {
  if (who.empty()) return Error::Invalid("invalid_account", "account is empty");
  if (who.substr(0, 5) == "kray_") {
    if (!IsAccountId(who))
      return Error::Invalid("invalid_account",
                            "'" + std::string(who) + "' is not a valid account id (kray_ + 32 lowercase hex)");
    return ResolvedAccount{std::string(who), ""};
  }
  auto resolved = ResolveP2trAddress(params, who);
  if (!resolved.ok()) {
    return Error::Invalid("invalid_account", "'" + std::string(who) + "' is neither an account id nor a usable " +
                                                 "P2TR address of " + std::string(NetworkName(params.network)) + ": " +
                                                 resolved.error().message);
  }
  return resolved;
}

Result<std::string> CanonicalFieldValue(const ChainParams& params, const ModuleRegistry& registry,
                                        const FieldSpec& spec, std::string_view raw, std::string* address_out) {
  switch (spec.kind) {
    case FieldKind::kText:
      if (raw.size() > spec.max_len)
        return Error::Invalid(
            spec.name == "data" ? "data_too_long" : "invalid_field",
            "field '" + std::string(spec.name) + "' exceeds " + std::to_string(spec.max_len) + " bytes");
      return std::string(raw);
    case FieldKind::kAccount: {
      auto r = ResolveAccount(params, raw);
      if (!r.ok()) return std::move(r).error();
      if (address_out) *address_out = std::move(r->address);
      return std::move(r->account_id);
    }
    case FieldKind::kAmount:
      return CanonicalDecimal(spec, raw, "invalid_amount");
    case FieldKind::kUint:
      return CanonicalDecimal(spec, raw, "invalid_field");
    case FieldKind::kAsset:
      if (!registry.IsAsset(params, raw))
        return Error::Invalid("unknown_asset", "unknown asset '" + std::string(raw) + "'");
      return std::string(raw);
    case FieldKind::kAddress:
      return CanonicalAnyAddress(params, raw);
    case FieldKind::kPubkey: {
      auto key = bitcoin::ParseAccountPubKey(raw);
      if (!key.ok()) return Error::Invalid("invalid_pubkey", key.error().message);
      return ToHex(*key);
    }
    case FieldKind::kId:
      if (raw.empty() || raw.size() > spec.max_len ||
          !std::all_of(raw.begin(), raw.end(), [](unsigned char c) { return IsIdChar(c); }))
        return BadField(spec, "must be 1.." + std::to_string(spec.max_len) + " characters of [A-Za-z0-9_:.-]");
      return std::string(raw);
  }
  return BadField(spec, "has an unknown kind");
}

Result<Operation> BuildOperation(const ChainParams& params, const ModuleRegistry& registry, const OperationRequest& req,
                                 Validation validation) {
  const OperationType* type = registry.FindOperation(req.type);
  if (!type) return Error::Invalid("unknown_operation", "unknown operation type '" + req.type + "'");
  Operation op;
  op.type = req.type;
  op.auth = req.auth;
  op.fields.reserve(type->fields().size());  // every field the type has, at most: never regrown
  std::vector<const FieldSpec*> seen;
  Fields legacy_raw;  // raw account strings, kept as evidence for the legacy scheme
  for (const auto& [name, raw] : req.fields) {
    const FieldSpec* spec = FindSpec(*type, name);
    if (!spec) return Error::Invalid("unknown_field", "operation '" + req.type + "' has no field '" + name + "'");
    if (std::find(seen.begin(), seen.end(), spec) != seen.end())
      return Error::Invalid("duplicate_field", "field '" + std::string(spec->name) + "' is given twice");
    seen.push_back(spec);
    std::string address;
    auto value = CanonicalFieldValue(params, registry, *spec, raw, &address);
    if (!value.ok()) return std::move(value).error();
    if (spec->keep_address && !address.empty()) SetField(op.evidence, std::string(spec->name) + "_address", address);
    if (spec->kind == FieldKind::kAccount) SetField(legacy_raw, "legacy_" + std::string(spec->name), raw);
    SetField(op.fields, std::string(spec->name), std::move(*value));
  }
  for (const auto& spec : type->fields()) {
    if (op.Field(spec.name)) continue;
    if (spec.default_value) {
      SetField(op.fields, std::string(spec.name), std::string(*spec.default_value));
    } else if (spec.required) {
      std::string shown(spec.request_name.empty() ? spec.name : spec.request_name);
      return Error::Invalid("missing_field", "missing field '" + shown + "'");
    }
  }
  if (op.auth == Auth::kSigned) {
    if (req.signer.empty()) {
      std::string shown(type->signer_field());
      return Error::Invalid("missing_field", "missing field '" + shown + "'");
    }
    auto signer = ResolveAccount(params, req.signer);
    if (!signer.ok()) return std::move(signer).error();
    op.signer = std::move(signer->account_id);
    if (type->consumes_nonce()) {
      if (!req.nonce) return Error::Invalid("missing_field", "missing field 'nonce'");
      op.nonce = *req.nonce;
    } else if (req.nonce && *req.nonce != 0) {
      return Error::Invalid("invalid_field", "operation '" + req.type + "' is signed with nonce 0");
    }
    auto sig = FromHexFixed<64>(req.signature_hex);
    if (!sig)
      return Error::Invalid("invalid_signature_format", "field 'signature' must be 64 bytes of hex (128 characters)");
    op.signature.assign(sig->begin(), sig->end());
    if (req.sig_scheme.empty()) {
      op.scheme = type->default_scheme(op);
    } else {
      auto scheme = ParseSigScheme(req.sig_scheme);
      if (!scheme || *scheme == SigScheme::kNone)
        return Error::Invalid("invalid_field", "field 'sig_scheme' must be \"legacy\" or \"v1\"");
      op.scheme = *scheme;
    }
    if (op.scheme == SigScheme::kLegacy) {
      op.evidence.reserve(op.evidence.size() + 1 + legacy_raw.size());
      SetField(op.evidence, "legacy_signer", req.signer);
      for (auto& [k, v] : legacy_raw) SetField(op.evidence, std::move(k), std::move(v));
    }
  } else if (!req.signer.empty() || !req.signature_hex.empty() || !req.sig_scheme.empty() || req.nonce) {
    return Error::Invalid("invalid_field", "operation '" + req.type + "' is " + std::string(AuthName(op.auth)) +
                                               ": it takes no signer or signature");
  }
  if (validation == Validation::kNow) KRAY_TRY(ValidateOperation(params, registry, op));
  return op;
}

}  // namespace kray::state
