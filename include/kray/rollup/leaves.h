// What the state tree commits to (docs/ROLLUP.md, "Leaves").
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
//  type 2, supply (id = asset): the module-held value of the conservation
//    invariant for the asset:
//    lp(asset) || u64be(genesis_total) || u64be(minted) || u64be(burned) ||
//    u64be(fee_pool)
// A leaf whose fields are all zero/empty is absent from the tree (an account
// always exists once created, so it is never absent).
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

namespace kray::rollup {

enum class LeafType : std::uint8_t { kAccount = 1, kSupply = 2 };

inline constexpr std::string_view kLeafKeyTag = "KRAY/smt/key/v1";
inline constexpr std::string_view kLeafValueTag = "KRAY/smt/value/v1";

struct SupplyState {
  std::string asset;
  Amount genesis_total = 0, minted = 0, burned = 0, fee_pool = 0;
  bool IsZero() const { return genesis_total == 0 && minted == 0 && burned == 0 && fee_pool == 0; }
};

Hash256 LeafKey(LeafType type, std::string_view id);
inline Hash256 AccountKey(std::string_view account_id) {
  return LeafKey(LeafType::kAccount, account_id);
}
inline Hash256 SupplyKey(std::string_view asset) {
  return LeafKey(LeafType::kSupply, asset);
}
Hash256 LeafValueHash(ByteSpan data);

// Canonical leaf data. Invalid "invalid_pubkey" if pubkey_hex is neither
// empty nor 64 hex chars.
Result<Bytes> EncodeAccountLeaf(const state::Account& account);
Bytes EncodeSupplyLeaf(const SupplyState& supply);

// A decoded leaf (for proofs shown to users). Strict: rejects trailing bytes,
// unsorted/duplicate assets, over-long fields. Never crashes on any input.
struct DecodedLeaf {
  LeafType type = LeafType::kAccount;
  state::Account account;  // type 1 (balances filled, created_at 0)
  SupplyState supply;      // type 2
  Hash256 Key() const;
};
Result<DecodedLeaf> DecodeLeaf(ByteSpan data);

// Reads one account's complete state from the state tables (accounts,
// balances). NotFound "account_not_found" if absent.
Result<state::Account> LoadAccountState(store::Database& db, std::string_view account_id);
// Every row of the supply table, sorted by asset.
Result<std::vector<SupplyState>> LoadSupply(store::Database& db);

}  // namespace kray::rollup
