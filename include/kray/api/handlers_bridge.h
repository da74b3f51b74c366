// Bridge endpoints (docs/API.md "Bridge", docs/BRIDGE.md):
//   POST /api/bridge/deposit/initiate          {l1_address | account_id}: the account's deposit address
//   GET  /api/bridge/deposit/:txid/:vout/status
//   GET  /api/bridge/deposits/:account         ?limit= (newest first)
//   GET  /api/bridge/unattributed              ?limit= deposits waiting for a claim
//   POST /api/bridge/deposit/claim             signed deposit_claim
//   GET  /api/bridge/info
//   POST /api/bridge/alarms/resolve            (operator) {id, note}
// Without an L1 backend every route answers 503 bridge_unavailable.
#pragma once

#include <nlohmann/json.hpp>

namespace kray::api {

class Router;
struct ApiContext;

void RegisterBridgeRoutes(Router& router, const ApiContext& ctx);

// The "l1" member of /health: configured, reachable, chain, tip, scanner
// height, catching up, open alarms, the last error.
nlohmann::json BridgeHealthJson(const ApiContext& ctx);

}  // namespace kray::api
