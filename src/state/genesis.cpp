// Genesis: parsed and validated once, applied to a new store through the
// executor, hash-checked after (see include/kray/state/genesis.h).
#include "kray/state/genesis.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"
#include "kray/state/executor.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

// A funded, key-bound account takes ~190 bytes: room for ~2.8M accounts.
constexpr std::size_t kMaxGenesisBytes = 512u << 20;

Error Bad(const std::string& msg) {
  return Error::Invalid("invalid_genesis", "genesis: " + msg);
}

Result<Amount> GenesisAmount(const nlohmann::json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    auto a = ParseAmount(s);
    if (!a.ok()) return std::move(a).error();
    if (std::to_string(*a) != s) return Error::Invalid("invalid_amount", "not a canonical decimal (leading zeros)");
    return *a;
  }
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= kMaxAmount)
    return static_cast<Amount>(v.get<std::uint64_t>());
  return Error::Invalid("invalid_amount", "must be a decimal string or an integer <= 2^63-1");
}

// `key_matches` is set false when the account's key is not its address's
// BIP-86 internal key (reported by ParseAccounts after every other check).
Result<GenesisAccount> ParseAccount(const ChainParams& params, const nlohmann::json& a, std::size_t index,
                                    bool& key_matches) {
  std::string where = "accounts[" + std::to_string(index) + "]";
  if (!a.is_object() || !a.contains("l1_address") || !a["l1_address"].is_string())
    return Bad(where + " needs a string 'l1_address'");
  for (const auto& [key, value] : a.items())
    if (key != "l1_address" && key != "pubkey" && key != "balances")
      return Bad(where + " has an unknown key '" + key + "'");
  GenesisAccount ga;
  std::string raw = a["l1_address"].get<std::string>();
  auto addr = CanonicalP2trAddress(params, raw);
  if (!addr.ok()) return Bad(where + " (" + raw + "): " + addr.error().message);
  ga.l1_address = *addr;
  where += " (" + ga.l1_address + ")";
  if (a.contains("pubkey") && !a["pubkey"].is_null()) {
    if (!a["pubkey"].is_string()) return Bad(where + ": pubkey must be a hex string");
    auto key = bitcoin::ParseAccountPubKey(a["pubkey"].get<std::string>());
    if (!key.ok()) return Bad(where + ": bad pubkey: " + key.error().message);
    ga.pubkey_hex = ToHex(*key);
    key_matches = bitcoin::CheckBip86Key(params.hrp(), ga.l1_address, *key).ok();
  }
  if (a.contains("balances")) {
    if (!a["balances"].is_object()) return Bad(where + ": balances must be an object");
    for (const auto& [asset, v] : a["balances"].items()) {
      if (!FindAsset(params.assets, asset)) return Bad(where + ": unknown asset " + asset);
      auto amt = GenesisAmount(v);
      if (!amt.ok()) return Bad(where + ": bad " + asset + " balance: " + amt.error().message);
      if (*amt > 0) ga.balances.emplace_back(asset, *amt);
    }
  }
  return ga;
}

// Parses every account and checks its key against its address. One point
// tweak per key, with the address and key parsing, is most of a large
// genesis's parse time (a minute at a million accounts on one core), so the
// accounts are spread over the cores; the results are then read in order,
// so the error reported is the one a serial loop would report: the first
// account that does not parse, the first duplicate, a total that overflows,
// and only then the first key that is not its address's.
Result<std::vector<GenesisAccount>> ParseAccounts(const ChainParams& params, const nlohmann::json& accounts) {
  const std::size_t n = accounts.size();
  const std::size_t threads = n < 4096 ? 1 : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 16);
  std::vector<std::optional<Result<GenesisAccount>>> parsed(n);
  std::vector<char> key_matches(n, 1);
  std::atomic<std::size_t> first_bad{n};  // no account after a bad one is parsed
  auto parse = [&](std::size_t from) {
    for (std::size_t i = from; i < n && i < first_bad.load(); i += threads) {
      bool matches = true;
      parsed[i].emplace(ParseAccount(params, accounts[i], i, matches));
      key_matches[i] = matches;
      if (parsed[i]->ok()) continue;
      std::size_t seen = first_bad.load();
      while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
      }
      return;
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(parse, t);
  parse(0);
  for (auto& t : pool) t.join();

  std::vector<GenesisAccount> out;
  out.reserve(n);
  std::set<std::string> seen;
  std::map<std::string, Amount> totals;
  for (std::size_t i = 0; i < n; ++i) {
    Result<GenesisAccount>& ga = *parsed[i];  // set for every i up to the first bad one
    if (!ga.ok()) return std::move(ga).error();
    if (!seen.insert(ga->l1_address).second) return Bad("duplicate account " + ga->l1_address);
    for (const auto& [asset, amount] : ga->balances) {
      auto sum = CheckedAdd(totals[asset], amount);
      if (!sum) return Bad("the total of " + asset + " exceeds 2^63-1");
      totals[asset] = *sum;
    }
    out.push_back(std::move(*ga));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (key_matches[i]) continue;
    return Bad("accounts[" + std::to_string(i) + "] (" + out[i].l1_address +
               "): pubkey is not the address's BIP-86 internal key");
  }
  return out;
}

}  // namespace

Result<Genesis> ParseGenesis(const ChainParams& params, const ModuleRegistry& registry, std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  Genesis g;
  g.bytes = std::string(bytes);
  g.hash_hex = ToHex(crypto::Sha256(AsBytes(bytes)));
  if (!j.contains("chain_id") || !j["chain_id"].is_string()) return Bad("missing string 'chain_id'");
  g.chain_id = j["chain_id"].get<std::string>();
  if (g.chain_id != params.chain_id) {
    return Error::Invalid("chain_id_mismatch", "genesis chain_id '" + g.chain_id +
                                                   "' differs from the configured chain id '" + params.chain_id + "'");
  }
  if (!j.contains("timestamp") || !j["timestamp"].is_number_integer() || j["timestamp"].get<std::int64_t>() < 0)
    return Bad("missing non-negative integer 'timestamp'");
  g.timestamp = j["timestamp"].get<std::int64_t>();
  if (!j.contains("accounts") || !j["accounts"].is_array()) return Bad("missing array 'accounts'");
  auto accounts = ParseAccounts(params, j["accounts"]);
  if (!accounts.ok()) return std::move(accounts).error();
  g.accounts = std::move(*accounts);
  for (const auto& [key, value] : j.items()) {
    if (key == "chain_id" || key == "timestamp" || key == "accounts") continue;
    bool known = false;
    for (const Module* m : registry.modules()) known = known || m->name() == key;
    if (!known) return Bad("unknown top-level key '" + key + "' (not a registered module)");
    g.module_sections[key] = value.dump();
  }
  return g;
}

namespace {

Result<std::string> ReadGenesisBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid("genesis_not_found", "cannot read genesis file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (bytes.size() > kMaxGenesisBytes) return Bad("file larger than 512 MiB");
  return bytes;
}

}  // namespace

Result<Genesis> LoadGenesisFile(const ChainParams& params, const ModuleRegistry& registry, const std::string& path) {
  auto bytes = ReadGenesisBytes(path);
  if (!bytes.ok()) return std::move(bytes).error();
  return ParseGenesis(params, registry, *bytes);
}

Result<std::string> GenesisFileHash(const std::string& path) {
  auto bytes = ReadGenesisBytes(path);
  if (!bytes.ok()) return std::move(bytes).error();
  return ToHex(crypto::Sha256(AsBytes(*bytes)));
}

namespace {

Status PutMeta(store::Database& db, std::string_view key, std::string_view value) {
  auto st = db.Use("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, key).Bind(2, value);
  return (*st)->Run();
}

}  // namespace

Result<std::optional<std::string>> ReadMeta(store::Database& db, std::string_view key) {
  auto st = db.Use("SELECT value FROM meta WHERE key=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, key);
  return store::FirstRow<std::string>(**st, [](const store::Statement& r) { return r.Text(0); });
}

Status ApplyGenesis(store::Database& db, const ChainParams& params, const ModuleRegistry& registry,
                    const Genesis& genesis) {
  store::Transaction tx(db);
  if (!tx.ok()) return tx.status().error();
  auto existing = ReadMeta(db, "genesis_hash");
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return Error::Internal("genesis: the store already has a genesis");
  Executor exec(db, params, registry);
  KRAY_TRY(exec.ApplyGenesis(genesis));
  KRAY_TRY(exec.FlushGroup());
  KRAY_TRY(PutMeta(db, "genesis_hash", genesis.hash_hex));
  KRAY_TRY(PutMeta(db, "chain_id", genesis.chain_id));
  KRAY_TRY(PutMeta(db, "genesis_timestamp", std::to_string(genesis.timestamp)));
  KRAY_TRY(PutMeta(db, "genesis_file", genesis.bytes));
  return tx.Commit();
}

}  // namespace kray::state
