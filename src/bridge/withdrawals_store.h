// Private to src/bridge: writes of the bridge module's withdrawal and spend
// tables (schema/bridge/002_withdrawals.sql), for the operations' Apply and
// the genesis. Reads are public (withdrawals.h). Every function takes the
// connection it runs on.
#pragma once

#include <string>

#include "kray/bridge/withdrawals.h"
#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::bridge::internal {

Status WriteBridgeConfig(store::Database& db, const BridgeConfig& config);
// True once the genesis wrote a configuration row.
Result<bool> HasBridgeConfig(store::Database& db);

// The next withdrawal id (MAX + 1).
Result<std::uint64_t> NextWithdrawalId(store::Database& db);
Status InsertWithdrawal(store::Database& db, const Withdrawal& w);
// Writes every mutable column of an existing row.
Status UpdateWithdrawal(store::Database& db, const Withdrawal& w);

Status InsertSpend(store::Database& db, const Spend& s);
Status UpdateSpend(store::Database& db, const Spend& s);

// Leaf encoders (nullopt when absent) and id enumerators.
Result<std::optional<Bytes>> EncodeConfigLeaf(store::Database& db, std::string_view id);
Result<std::optional<Bytes>> EncodeWithdrawalLeaf(store::Database& db, std::string_view id);
Result<std::optional<Bytes>> EncodeSpendLeaf(store::Database& db, std::string_view id);
Status ForEachConfigId(store::Database& db, const std::function<Status(std::string_view)>& fn);
Status ForEachWithdrawalId(store::Database& db, const std::function<Status(std::string_view)>& fn);
Status ForEachSpendId(store::Database& db, const std::function<Status(std::string_view)>& fn);

// Conservation terms: bridge.withdrawals per asset (amounts, and fees in
// KRAY, of withdrawals not completed or refunded) and bridge.spend_reserves
// (BTC reserved for the fees of unconfirmed spends).
struct HeldValue {
  std::string term, asset;
  Amount amount = 0;
};
// Item invariants of withdrawals and spends (Module::CheckInvariants):
// Conflict "bridge_withdrawals_inconsistent" naming each rule broken.
Status CheckWithdrawalInvariants(store::Database& db);
Result<std::vector<HeldValue>> HeldByWithdrawals(store::Database& db);

}  // namespace kray::bridge::internal
