// Genesis allocation: parsed once, applied to a new store, hash-checked after.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"
#include "kray/state/tx_message.h"
#include "ledger_impl.h"

namespace kray::state {
namespace {

Error Bad(const std::string& msg) {
  return Error::Invalid("invalid_genesis", "genesis: " + msg);
}

}  // namespace

Result<Genesis> ParseGenesis(const ChainParams& params, std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  Genesis g;
  g.hash_hex = ToHex(crypto::Sha256(AsBytes(bytes)));
  if (!j.contains("chain_id") || !j["chain_id"].is_string()) return Bad("missing string 'chain_id'");
  g.chain_id = j["chain_id"].get<std::string>();
  if (g.chain_id != params.chain_id) {
    return Error::Invalid("chain_id_mismatch", "genesis chain_id '" + g.chain_id +
                                                   "' differs from the configured chain id '" + params.chain_id + "'");
  }
  if (!j.contains("timestamp") || !j["timestamp"].is_number_integer()) return Bad("missing integer 'timestamp'");
  g.timestamp = j["timestamp"].get<std::int64_t>();
  if (g.timestamp < 0) return Bad("negative timestamp");
  if (!j.contains("accounts") || !j["accounts"].is_array()) return Bad("missing array 'accounts'");
  std::set<std::string> seen;
  for (const auto& a : j["accounts"]) {
    if (!a.is_object() || !a.contains("l1_address") || !a["l1_address"].is_string())
      return Bad("every account needs a string 'l1_address'");
    GenesisAccount ga;
    ga.l1_address = a["l1_address"].get<std::string>();
    auto out = bitcoin::DecodeP2trAddress(params.hrp(), ga.l1_address);
    if (!out.ok()) return Bad("'" + ga.l1_address + "' is not a P2TR address of this network: " + out.error().message);
    if (!seen.insert(ga.l1_address).second) return Bad("duplicate account " + ga.l1_address);
    if (a.contains("pubkey") && !a["pubkey"].is_null()) {
      if (!a["pubkey"].is_string()) return Bad("pubkey must be a hex string");
      auto key = bitcoin::ParseAccountPubKey(a["pubkey"].get<std::string>());
      if (!key.ok()) return Bad("bad pubkey for " + ga.l1_address + ": " + key.error().message);
      Status s = bitcoin::CheckBip86Key(params.hrp(), ga.l1_address, *key);
      if (!s.ok()) return Bad("pubkey of " + ga.l1_address + " is not its BIP-86 internal key");
      ga.pubkey_hex = ToHex(*key);
    }
    if (a.contains("balances")) {
      if (!a["balances"].is_object()) return Bad("balances must be an object");
      for (const auto& [asset, v] : a["balances"].items()) {
        if (!FindAsset(params.assets, asset)) return Bad("unknown asset " + asset);
        Result<Amount> amt = Error::Invalid("invalid_amount", "not a string or integer");
        if (v.is_string())
          amt = ParseAmount(v.get<std::string>());
        else if (v.is_number_unsigned())
          amt = ParseAmount(std::to_string(v.get<std::uint64_t>()));
        if (!amt.ok()) return Bad("bad " + asset + " balance for " + ga.l1_address + ": " + amt.error().message);
        if (*amt > 0) ga.balances.emplace_back(asset, *amt);
      }
    }
    g.accounts.push_back(std::move(ga));
  }
  return g;
}

Result<Genesis> LoadGenesisFile(const ChainParams& params, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid("genesis_not_found", "cannot read genesis file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (bytes.size() > (64u << 20)) return Bad("file larger than 64 MiB");
  return ParseGenesis(params, bytes);
}

namespace {
Result<std::optional<std::string>> Meta(store::Database& db, const std::string& key) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key=?");
  if (!st.ok()) return std::move(st).error();
  st->Bind(1, key);
  auto r = st->Step();
  if (!r.ok()) return std::move(r).error();
  if (!*r) return std::optional<std::string>();
  return std::optional<std::string>(st->Text(0));
}
}  // namespace

Result<std::string> ApplyOrCheckGenesis(store::Database& db, const ChainParams& params, const std::string& path) {
  auto stored = Meta(db, "genesis_hash");
  if (!stored.ok()) return std::move(stored).error();
  if (stored->has_value()) {
    auto chain = Meta(db, "chain_id");
    if (!chain.ok()) return std::move(chain).error();
    if (chain->value_or("") != params.chain_id) {
      return Error::Invalid("chain_id_mismatch", "datadir belongs to chain '" + chain->value_or("") +
                                                     "', but the configured chain id is '" + params.chain_id + "'");
    }
    if (!path.empty()) {
      auto g = LoadGenesisFile(params, path);
      if (!g.ok()) return std::move(g).error();
      if (g->hash_hex != **stored) {
        return Error::Invalid("genesis_mismatch",
                              "genesis file '" + path + "' (sha256 " + g->hash_hex +
                                  ") differs from the genesis this datadir was created with (sha256 " + **stored +
                                  "); refusing to start");
      }
    }
    return **stored;
  }
  if (path.empty()) return Error::Invalid("genesis_required", "a new datadir needs a genesis file (genesis=)");
  auto g = LoadGenesisFile(params, path);
  if (!g.ok()) return std::move(g).error();

  store::Transaction tx(db);
  if (!tx.ok()) return tx.status().error();
  auto put_meta = [&](const char* k, const std::string& v) -> Status {
    auto st = db.Prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    if (!st.ok()) return std::move(st).error();
    st->Bind(1, std::string_view(k)).Bind(2, v);
    return st->Run();
  };
  KRAY_TRY(put_meta("genesis_hash", g->hash_hex));
  KRAY_TRY(put_meta("chain_id", g->chain_id));
  KRAY_TRY(put_meta("genesis_timestamp", std::to_string(g->timestamp)));
  std::map<std::string, Amount> totals;
  for (const auto& a : params.assets) totals[a.symbol] = 0;
  auto ins_acct =
      db.Prepare("INSERT INTO accounts (account_id, l1_address, pubkey, nonce, created_at) VALUES (?,?,?,0,?)");
  auto ins_bal = db.Prepare("INSERT INTO balances (account_id, asset, available) VALUES (?,?,?)");
  if (!ins_acct.ok()) return std::move(ins_acct).error();
  if (!ins_bal.ok()) return std::move(ins_bal).error();
  for (const auto& a : g->accounts) {
    std::string id = AccountIdFromAddress(a.l1_address);
    ins_acct->Bind(1, id).Bind(2, a.l1_address);
    if (a.pubkey_hex.empty())
      ins_acct->BindNull(3);
    else
      ins_acct->Bind(3, a.pubkey_hex);
    ins_acct->Bind(4, g->timestamp);
    KRAY_TRY(ins_acct->Run());
    for (const auto& [asset, amt] : a.balances) {
      ins_bal->Bind(1, id).Bind(2, asset).Bind(3, static_cast<std::int64_t>(amt));
      KRAY_TRY(ins_bal->Run());
      auto sum = CheckedAdd(totals[asset], amt);
      if (!sum) return Bad("total " + asset + " exceeds 2^63-1");
      totals[asset] = *sum;
    }
  }
  auto ins_sup = db.Prepare("INSERT INTO supply (asset, genesis_total) VALUES (?, ?)");
  if (!ins_sup.ok()) return std::move(ins_sup).error();
  for (const auto& [asset, total] : totals) {
    ins_sup->Bind(1, asset).Bind(2, static_cast<std::int64_t>(total));
    KRAY_TRY(ins_sup->Run());
  }
  KRAY_TRY(tx.Commit());
  return g->hash_hex;
}

}  // namespace kray::state
