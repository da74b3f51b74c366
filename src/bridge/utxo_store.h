// Private to src/bridge: the federation's outputs and the bridge's own
// transactions in bridge.sqlite (schema/bridge_scan/002_spends.sql). The
// scanner writes them block by block; the spend coordinator reads them and
// reserves outputs. Every function takes the connection it runs on; none
// opens a transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kray/bitcoin/transaction.h"
#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::bridge::scan {

struct FederationOutput {
  std::string txid;  // display hex
  std::uint32_t vout = 0;
  std::uint32_t height = 0;
  std::string block_hash;
  std::uint32_t address_index = 0;
  std::int64_t sats = 0;
  std::uint32_t required = 1;  // confirmations before it may be spent
  std::string kind;            // deposit | change
};

Status PutUtxo(store::Database& db, const FederationOutput& o);
// Every unspent federation outpoint (for the scanner's in-memory set).
Result<std::set<bitcoin::OutPoint>> UnspentOutpoints(store::Database& db);
Status MarkSpent(store::Database& db, const bitcoin::OutPoint& outpoint, std::string_view spent_txid,
                 std::uint32_t height);
Status PutBridgeTx(store::Database& db, std::string_view txid, std::uint32_t height, std::string_view block_hash,
                   std::optional<std::uint64_t> anchor_batch);
// Undoes what the block at `height` did to these tables (a reorg).
Status UndoBlock(store::Database& db, std::uint32_t height);
// Forgets outputs spent at or below `height` (beyond the reorg window).
Status PruneSpent(store::Database& db, std::uint32_t height);

// Unspent, unreserved outputs with at least their required confirmations at
// `tip`, oldest first.
Result<std::vector<FederationOutput>> SpendableOutputs(store::Database& db, std::uint32_t tip);
// Where a bridge transaction was mined (nullopt: not in a processed block).
struct MinedTx {
  std::uint32_t height = 0;
  std::string block_hash;
};
Result<std::optional<MinedTx>> FindBridgeTx(store::Database& db, std::string_view txid);
// Totals for /api/bridge/info: unspent outputs and their sats.
struct UtxoTotals {
  std::int64_t count = 0, sats = 0, reserved = 0;
};
Result<UtxoTotals> Totals(store::Database& db);

// Reserves each outpoint for `spend_id`; Conflict "bridge_input_reserved" if
// one is already reserved (by any spend), leaving the caller to roll back.
Status Reserve(store::Database& db, const std::vector<bitcoin::OutPoint>& outpoints, std::string_view spend_id);
Status ReleaseReservations(store::Database& db, std::string_view spend_id);
// The spend holding an outpoint, or nullopt.
Result<std::optional<std::string>> ReservedBy(store::Database& db, const bitcoin::OutPoint& outpoint);

}  // namespace kray::bridge::scan
