// Domain types of the state module (accounts, balances, receipts, stats). No
// JSON, no HTTP, no SQLite here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/params.h"

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

struct AccountStats {
  std::string account_id;
  std::uint64_t tx_count = 0, sent_count = 0, received_count = 0;
  Amount gas_spent = 0;
  std::uint64_t deposit_count = 0, withdrawal_count = 0;
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
//   balances (available+staked+locked) + fee_pool + burned + module terms
//     == genesis_total + minted
struct ConservationLine {
  std::string asset;
  Amount genesis = 0, minted = 0;
  Amount balances = 0, fee_pool = 0, burned = 0;
  std::map<std::string, Amount> extra;  // module-held value by term name (pools, escrows, ...)
  bool ok = false;
};
struct ConservationReport {
  bool ok = false;
  std::vector<ConservationLine> lines;
  // Broken module invariants (Module::CheckInvariants): "module: code: message".
  std::vector<std::string> violations;
  std::string ToString() const;  // one line per asset, "OK"/"VIOLATED", then the violations
};

}  // namespace kray::state
