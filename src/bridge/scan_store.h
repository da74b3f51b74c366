// Private to src/bridge: the scanner's tables in bridge.sqlite
// (schema/bridge_scan) — processed blocks, observed deposits, alarms.
// Every function takes the connection it runs on; none opens a transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/bridge/scanner.h"
#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::bridge::scan {

struct ScannedBlock {
  std::uint32_t height = 0;
  Hash256 hash{};  // internal byte order
};

// The highest processed block, or nullopt.
Result<std::optional<ScannedBlock>> Tip(store::Database& db);
Status PutBlock(store::Database& db, const ScannedBlock& block);
Status EraseBlock(store::Database& db, std::uint32_t height);

Result<std::optional<ObservedDeposit>> FindDeposit(store::Database& db, std::string_view txid, std::uint32_t vout);
// Inserts or replaces the row (every column).
Status PutDeposit(store::Database& db, const ObservedDeposit& d, const std::string& inputs);
Status EraseDeposit(store::Database& db, std::string_view txid, std::uint32_t vout);
Result<std::vector<ObservedDeposit>> DepositsAtHeight(store::Database& db, std::uint32_t height);
Result<std::vector<ObservedDeposit>> DepositsAtIndex(store::Database& db, std::uint32_t index, int limit);
// confirming/reconfirming deposits with height + required - 1 <= tip, oldest first.
Result<std::vector<ObservedDeposit>> MaturedDeposits(store::Database& db, std::uint32_t tip, int limit);
// The deposit's recorded inputs ("txid:n,...").
Result<std::string> DepositInputs(store::Database& db, std::string_view txid, std::uint32_t vout);
Status SetDepositStatus(store::Database& db, std::string_view txid, std::uint32_t vout, std::string_view status,
                        std::string_view detail, std::string_view operation);
// failed -> confirming (retried after a restart).
Status RetryFailed(store::Database& db);

Status AddAlarm(store::Database& db, const BridgeAlarm& alarm);
Result<std::vector<BridgeAlarm>> ListAlarms(store::Database& db);
Result<std::int64_t> CountOpenAlarms(store::Database& db);
// Open alarms of an outpoint -> reconfirmed, with `note`.
Status ReconfirmAlarms(store::Database& db, std::string_view txid, std::uint32_t vout, const std::string& note);

}  // namespace kray::bridge::scan
