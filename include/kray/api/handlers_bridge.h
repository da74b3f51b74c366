// Bridge endpoints (docs/API.md "Bridge", docs/BRIDGE.md):
//   POST /api/bridge/deposit/initiate          {l1_address | account_id}: the account's deposit address
//   GET  /api/bridge/deposit/:txid/:vout/status
//   GET  /api/bridge/deposits/:account         ?limit= (newest first)
//   GET  /api/bridge/unattributed              ?limit= deposits waiting for a claim
//   POST /api/bridge/deposit/claim             signed deposit_claim
//   GET  /api/bridge/info
//   POST /api/bridge/alarms/resolve            (operator) {id, note}
// Withdrawals and the bridge's own transactions (handlers_withdrawals.cpp):
//   POST /api/bridge/withdrawal/request        signed withdrawal_request
//   GET  /api/bridge/withdrawal/:id/status
//   GET  /api/bridge/withdrawals/:account      ?limit=&before=
//   POST /api/bridge/withdrawal/:id/challenge  operator {reason}, or a validator's signed challenge
//   POST /api/bridge/withdrawal/:id/resolve    (operator) {action: release|refund, note}
//   GET  /api/bridge/withdrawal/:id/psbt       the spend's current PSBT (base64)
//   POST /api/bridge/withdrawal/:id/signatures {psbt}: a co-signer's PSBT
//   GET  /api/bridge/spend/:id                 a withdrawal batch or an anchor: L2 record, versions, PSBT
//   POST /api/bridge/spend/:id/signatures      {psbt}
//   GET  /api/bridge/anchor/:batch             a batch's anchor: status, spend id, txid, height
// Without an L1 backend every route answers 503 bridge_unavailable.
#pragma once

#include <nlohmann/json.hpp>

namespace kray::rollup {
struct BatchHeader;
}

namespace kray::api {

class Router;
struct ApiContext;

void RegisterBridgeRoutes(Router& router, const ApiContext& ctx);
// The withdrawal and spend routes (called by RegisterBridgeRoutes).
void RegisterWithdrawalRoutes(Router& router, const ApiContext& ctx);

// Sets a batch header's anchor status, txid and height from the bridge
// (built | anchored | finalized); unchanged without one.
void OverlayAnchor(const ApiContext& ctx, rollup::BatchHeader& batch);

// The "l1" member of /health: configured, reachable, chain, tip, scanner
// height, catching up, open alarms, the last error.
nlohmann::json BridgeHealthJson(const ApiContext& ctx);

}  // namespace kray::api
