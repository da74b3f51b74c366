// The genesis file: the chain's initial allocation (config/genesis.regtest.json).
// Applied once to a new store; its SHA-256 is recorded and a datadir refuses a
// different file. Replay applies the same bytes with the same code.
//
//   { "chain_id": "kray-regtest-1", "timestamp": 1764000000,
//     "accounts": [ {"l1_address": "bcrt1p…", "pubkey": "<x-only hex>",
//                    "balances": {"KRAY": "1000000000", …}}, … ],
//     "<module name>": { … module section … } }
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/module.h"

namespace kray::store {
class Database;
}

namespace kray::state {

struct GenesisAccount {
  std::string l1_address;  // canonical (lower case)
  std::string pubkey_hex;  // x-only, or "" (key bound later)
  std::vector<std::pair<std::string, Amount>> balances;
};

struct Genesis {
  std::string chain_id;
  std::int64_t timestamp = 0;
  std::vector<GenesisAccount> accounts;
  std::map<std::string, std::string> module_sections;  // module name -> JSON text
  std::string bytes;                                   // the file as read
  std::string hash_hex;                                // SHA-256 of the file bytes
};

// Parses and validates a genesis file: every address a P2TR address of the
// network (normalised to lower case), every key the address's BIP-86 key,
// known assets, canonical amounts, no duplicate accounts, totals within
// 2^63-1, only known top-level keys (module sections must name a registered
// module). Errors: Invalid "invalid_genesis" naming the entry, or
// "chain_id_mismatch".
Result<Genesis> ParseGenesis(const ChainParams& params, const ModuleRegistry& registry, std::string_view bytes);
// Reads and parses a file (at most 512 MiB). "genesis_not_found".
Result<Genesis> LoadGenesisFile(const ChainParams& params, const ModuleRegistry& registry, const std::string& path);
// The SHA-256 (hex) of a genesis file's bytes, without parsing it: what a
// restart compares with the hash its datadir recorded (parsing checks every
// account's key, a minute at a million accounts). "genesis_not_found".
Result<std::string> GenesisFileHash(const std::string& path);

// Applies a parsed genesis to an empty store in one transaction: the
// allocation and every module's section through the executor (no operation
// record: genesis precedes the log), and meta genesis_hash, chain_id,
// genesis_timestamp, genesis_file (the exact bytes, served to verifiers).
// Returns no change set: whoever builds a tree over the genesis state reads
// its leaves back from the store (all of them).
Status ApplyGenesis(store::Database& db, const ChainParams& params, const ModuleRegistry& registry,
                    const Genesis& genesis);

// A value of the store's meta table, or nullopt.
Result<std::optional<std::string>> ReadMeta(store::Database& db, std::string_view key);

}  // namespace kray::state
