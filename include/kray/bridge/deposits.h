// The bridge as a module of the module host (docs/BRIDGE.md, "Deposits"):
// its operations, its replayed tables in krayd.sqlite, its committed leaves,
// and the read queries the API uses. Everything here is replayed by
// `krayd verify` from the operation log alone; what it cannot check by
// itself (that Bitcoin really has the deposit) is recorded as evidence for a
// verifier that has an L1 node.
//
//   bridge_address_assign  public; field account (id or address; an address
//                          with no account creates it without a key). Gives
//                          the account the next deposit address index (1, 2,
//                          ...; 0 is the bridge's own address). Repeating it
//                          changes nothing. Result: address_index.
//   deposit_credit         system; fields account, assets; evidence txid,
//                          vout, block_hash, height, address_index. Mints the
//                          assets to the account that owns the address index,
//                          once per outpoint.
//   deposit_unattributed   system; fields assets, reason (bridge_address |
//                          unassigned_index); evidence txid, vout,
//                          block_hash, height, address_index, funding (the
//                          scripts the deposit's first inputs spent). Records
//                          the deposit without crediting anyone.
//   deposit_claim          signed by the key of an address that funded an
//                          unattributed deposit (BIP-340, v1 message, nonce
//                          0 not consumed); signer = the account credited;
//                          fields pubkey, txid, vout. Mints the recorded
//                          assets, once.
// Tables (schema/bridge): bridge_addresses, bridge_deposits (primary key
// (txid, vout): exactly once).
// Leaves: 0x30 bridge.address (id account_id):
//           u8(0x30) || lp(account_id) || u32be(address_index)
//         0x31 bridge.deposit (id "<txid>:<vout>"):
//           u8(0x31) || lp(id) || lp(status) || lp(account_id or "") ||
//           u32be(address_index) || lp(block_hash) || u32be(height) ||
//           lp(assets) || lp(reason) || lp(funding) || lp(claim_key)
// Audit: none for deposits (credited value is in account balances and counts
// as minted); withdrawals.h lists the withdrawals' terms.
//
// Thread-safety: the module is immutable; read queries take the caller's
// connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/bridge/validator_facts.h"
#include "kray/core/amount.h"
#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/module.h"

namespace kray::store {
class Database;
}

namespace kray::bridge {

inline constexpr std::string_view kAddressAssignOp = "bridge_address_assign";
inline constexpr std::string_view kDepositCreditOp = "deposit_credit";
inline constexpr std::string_view kDepositUnattributedOp = "deposit_unattributed";
inline constexpr std::string_view kDepositClaimOp = "deposit_claim";

inline constexpr std::uint8_t kBridgeAddressLeaf = 0x30;
inline constexpr std::uint8_t kBridgeDepositLeaf = 0x31;

// Why a deposit is held unattributed.
inline constexpr std::string_view kReasonBridgeAddress = "bridge_address";      // paid to index 0
inline constexpr std::string_view kReasonUnassignedIndex = "unassigned_index";  // no account has the index

// At most this many of a deposit's inputs are recorded as funding scripts.
inline constexpr std::size_t kMaxFundingInputs = 16;

// The bridge module (deposits, and the withdrawals of withdrawals.h), with
// NoValidators() as its source of active validators.
const state::Module& BridgeModule();
// The same module asking `validators` (which must outlive it) whether a
// signed challenge comes from an active validator (validator_facts.h).
std::unique_ptr<state::Module> MakeBridgeModule(const ValidatorFacts& validators);

// --- asset lists ("BTC:1000,DOG:5") ---
struct AssetAmount {
  std::string asset;
  Amount amount = 0;
  friend bool operator==(const AssetAmount&, const AssetAmount&) = default;
};
// Canonical text: sorted by asset, "<asset>:<amount>" joined by ",".
std::string FormatAssets(std::vector<AssetAmount> assets);
// Strict parse: canonical text only (sorted, unique, canonical decimals > 0,
// 1..16 entries, each asset in `params`). Invalid "invalid_assets".
Result<std::vector<AssetAmount>> ParseAssets(const ChainParams& params, std::string_view text);

// "<txid display hex>:<vout>", the id of a deposit leaf.
std::string OutpointId(std::string_view txid_hex, std::uint32_t vout);

// True if `pubkey` is the key of the address whose scriptPubKey is `script`:
// P2TR whose output key is `pubkey` or its BIP-86 tweak (no script tree);
// P2WPKH or P2PKH whose program is HASH160 of `pubkey` in compressed form
// (either parity). A BIP-340 signature by that key proves control of it.
bool ClaimKeyMatches(ByteSpan script, const crypto::XOnlyPubKey& pubkey);

// --- read queries (any connection with the bridge schema) ---

// The account's deposit address index, or nullopt.
Result<std::optional<std::uint32_t>> AddressIndexOf(store::Database& db, std::string_view account_id);
// The account that owns address index `index`, or nullopt.
Result<std::optional<std::string>> AccountOfIndex(store::Database& db, std::uint32_t index);
// The highest assigned index (0 if none).
Result<std::uint32_t> MaxAddressIndex(store::Database& db);

struct DepositRecord {
  std::string txid;  // display hex
  std::uint32_t vout = 0;
  std::string status;      // credited | unattributed | claimed
  std::string account_id;  // "" while unattributed
  std::uint32_t address_index = 0;
  std::string block_hash;
  std::uint32_t height = 0;
  std::string assets;  // canonical text
  std::string reason, funding, claim_key;
};
Result<std::optional<DepositRecord>> FindDepositRecord(store::Database& db, std::string_view txid, std::uint32_t vout);
// The account's credited and claimed deposits, newest (highest block) first.
Result<std::vector<DepositRecord>> AccountDepositRecords(store::Database& db, std::string_view account_id, int limit);
// How many deposits were credited to the account (credited and claimed).
Result<std::uint64_t> CountAccountDeposits(store::Database& db, std::string_view account_id);
// Unattributed deposits not claimed yet, newest first.
Result<std::vector<DepositRecord>> UnattributedDepositRecords(store::Database& db, int limit);
// Per asset, the total credited or claimed (what deposits minted).
Result<std::map<std::string, Amount>> DepositedTotals(store::Database& db);

}  // namespace kray::bridge
