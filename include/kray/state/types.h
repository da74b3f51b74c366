// Domain types of the state module (accounts, balances, transactions). No
// JSON, no HTTP, no SQLite here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/params.h"
#include "kray/crypto/secp256k1.h"

namespace kray::state {

struct Balance {
  std::string asset;
  Amount available = 0, staked = 0, locked = 0;
};

struct Account {
  std::string account_id;
  std::string l1_address;
  std::string pubkey_hex;   // x-only, empty if no key is bound yet
  std::uint64_t nonce = 0;  // the next nonce this account must sign with
  std::int64_t created_at = 0;
  std::vector<Balance> balances;  // one per asset with a row, sorted by asset

  // Balance of `asset` (zeros if the account has no row for it).
  Balance BalanceOf(const std::string& asset) const;
};

enum class SigScheme { kLegacy, kV1 };
std::string_view SigSchemeName(SigScheme s);  // "legacy" | "v1"

// A signed transfer as received. from/to exactly as sent (id or L1 address).
struct TransferTx {
  std::string from, to;
  std::string asset = "KRAY";
  Amount amount = 0;
  std::uint64_t nonce = 0;
  TxType type = TxType::kTransfer;  // decides the gas; the move is a transfer
  std::string data;                 // opaque memo, <= 1024 bytes
  crypto::SchnorrSig signature{};
  SigScheme scheme = SigScheme::kLegacy;
};

struct Receipt {
  std::string tx_hash;
  std::string status;  // "confirmed"
  std::string from_id, to_id, asset;
  Amount amount = 0, gas_fee = 0;
  std::uint64_t new_nonce = 0;  // the sender's next nonce after this tx
  std::int64_t confirmed_at = 0;
  std::uint64_t seq = 0;
};

// One row of the transactions table.
struct TxRecord {
  std::uint64_t seq = 0;  // global apply order, strictly increasing
  std::string tx_hash;    // hex
  std::string type;       // TxTypeName or a module's own type ("deposit", ...)
  std::string from_id, to_id;
  std::string to_address;  // recipient L1 address when the tx named it by address, else ""
  // For legacy-signed txs: from/to exactly as sent (the legacy message covers
  // them), so replay can re-verify the signature. Empty for v1.
  std::string signed_from, signed_to;
  std::string asset;
  Amount amount = 0, gas_fee = 0;
  std::uint64_t nonce = 0;
  std::string signature;   // hex, empty for operator/system txs
  std::string sig_scheme;  // "legacy" | "v1" | "" (system)
  std::string data;
  std::string status;  // "confirmed" (stored) | "pending" (Pending())
  std::int64_t created_at = 0, confirmed_at = 0;
  std::int64_t batch_id = -1;  // -1 until a rollup batch includes it
};

struct AccountStats {
  std::string account_id;
  std::uint64_t tx_count = 0, sent_count = 0, received_count = 0;
  Amount gas_spent = 0;
  std::uint64_t deposit_count = 0, withdrawal_count = 0;
  Amount deposited = 0, withdrawn = 0;  // sums of amount, per any asset (credits)
};

struct TxStats {
  std::uint64_t total = 0;
  std::map<std::string, std::uint64_t> by_type;
  Amount gas_collected = 0;  // sum of gas_fee (KRAY credits)
  Amount gas_burned = 0;     // supply.burned for KRAY
  Amount fee_pool = 0;       // supply.fee_pool for KRAY
  std::uint64_t pending = 0;
  std::uint64_t accounts = 0;
};

// Conservation per asset:
//   balances (available+staked+locked) + fee_pool + burned + extra terms
//     == genesis_total + minted
struct ConservationLine {
  std::string asset;
  Amount genesis = 0, minted = 0;
  Amount balances = 0, fee_pool = 0, burned = 0;
  std::map<std::string, Amount> extra;  // module-held sums (pools, escrows, ...)
  bool ok = false;
};
struct ConservationReport {
  bool ok = false;
  std::vector<ConservationLine> lines;
  std::string ToString() const;  // one line per asset, "OK"/"VIOLATED"
};

}  // namespace kray::state
