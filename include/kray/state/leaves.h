// What the state tree commits to (docs/ROLLUP.md, "Leaves"). Every module
// registers its leaf types (module.h); this header defines the leaf key and
// value hashing shared by all of them and the two leaf types of the core
// ledger.
//
// Every leaf is a (key, value_hash) pair with
//   key        = TaggedHash("KRAY/smt/key/v1",   u8(type) || lp(id))
//   value_hash = TaggedHash("KRAY/smt/value/v1", data)
//   data       = u8(type) || fields            (self-describing, parseable)
// lp(s) = u32be(len(s)) || s; integers are big-endian.
//
//  type 1, account (id = account_id):
//    lp(account_id) || lp(l1_address) || lp(pubkey: 32 bytes or empty) ||
//    u64be(nonce) || u32be(n) || n x [lp(asset) || u64be(available) ||
//    u64be(staked) || u64be(locked)]        assets sorted bytewise; rows whose
//                                           three buckets are all 0 omitted
//  type 2, supply (id = asset):
//    lp(asset) || u64be(genesis_total) || u64be(minted) || u64be(burned) ||
//    u64be(fee_pool)
// A leaf whose data is absent (nullopt) is not in the tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

inline constexpr std::uint8_t kAccountLeaf = 1;
inline constexpr std::uint8_t kSupplyLeaf = 2;

inline constexpr std::string_view kLeafKeyTag = "KRAY/smt/key/v1";
inline constexpr std::string_view kLeafValueTag = "KRAY/smt/value/v1";

Hash256 LeafKey(std::uint8_t type, std::string_view id);
inline Hash256 AccountKey(std::string_view account_id) {
  return LeafKey(kAccountLeaf, account_id);
}
inline Hash256 SupplyKey(std::string_view asset) {
  return LeafKey(kSupplyLeaf, asset);
}
Hash256 LeafValueHash(ByteSpan data);

struct SupplyState {
  std::string asset;
  Amount genesis_total = 0, minted = 0, burned = 0, fee_pool = 0;
  bool IsZero() const { return genesis_total == 0 && minted == 0 && burned == 0 && fee_pool == 0; }
};

// Canonical leaf data. Invalid "invalid_pubkey" if pubkey_hex is neither
// empty nor 64 hex chars.
Result<Bytes> EncodeAccountLeaf(const Account& account);
Bytes EncodeSupplyLeaf(const SupplyState& supply);

// A decoded core leaf (for proofs shown to users). Strict: rejects trailing
// bytes, unsorted/duplicate assets, over-long fields. Never crashes.
struct DecodedLeaf {
  std::uint8_t type = kAccountLeaf;
  Account account;     // type 1 (balances filled, created_at 0)
  SupplyState supply;  // type 2
  Hash256 Key() const;
};
Result<DecodedLeaf> DecodeLeaf(ByteSpan data);

// Reads one account's complete state (accounts, balances). NotFound
// "account_not_found" if absent.
Result<Account> LoadAccountState(store::Database& db, std::string_view account_id);
// One supply row (zeros if the asset has none).
Result<SupplyState> LoadSupply(store::Database& db, std::string_view asset);
// Every supply row, sorted by asset.
Result<std::vector<SupplyState>> LoadAllSupply(store::Database& db);

// Helpers for module leaf encoders: u32be/u64be/lp appenders.
void PutU32(Bytes& out, std::uint32_t v);
void PutU64(Bytes& out, std::uint64_t v);
void PutLp(Bytes& out, std::string_view s);
void PutLp(Bytes& out, ByteSpan s);

}  // namespace kray::state
