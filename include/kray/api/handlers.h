// Route registration for the REST API handlers. Handlers are thin: parse and
// validate the request, make one domain call (the Ledger for state, the
// rollup index for batches and proofs), map the typed result to JSON.
// The ApiContext must outlive the Router that the handlers are added to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kray::state {
class Ledger;
}
namespace kray::rollup {
class Rollup;
}
namespace kray::bridge {
class DepositScanner;
class SpendCoordinator;
}  // namespace kray::bridge

namespace kray::api {

class Router;
class RateLimiter;
class EventFeed;
class HttpMetrics;

struct ApiContext {
  state::Ledger* ledger = nullptr;
  rollup::Rollup* rollup = nullptr;
  bridge::DepositScanner* bridge = nullptr;  // null: no L1 backend (bridge endpoints answer 503)
  int bridge_member = 0;                     // this node's federation member number (0: none)
  std::string rpctoken;                      // operator token: rpctoken, else the cookie's ("" = disabled)
  std::string version;                       // krayd version string
  std::int64_t started_at = 0;               // unix seconds
  // Per-client-IP buckets (null = off): every request takes one token from
  // `limiter` at the server; a batch's further items take one each here.
  // Public operations (unsigned, free: account_create without a proof of
  // possession, bridge_address_assign, validator_attest, validator_heartbeat)
  // also take one from `public_limiter`.
  RateLimiter* limiter = nullptr;
  RateLimiter* public_limiter = nullptr;
  std::size_t max_batch_items = 5000;  // config maxbatchitems
  HttpMetrics* http_metrics = nullptr;       // the server's request counters (null: not measured)
  EventFeed* feed = nullptr;                 // the event feed (null: none)

  // Withdrawals and anchors (with the bridge; null without an L1 backend).
  bridge::SpendCoordinator* spends = nullptr;
};

// GET /health, GET /api/node/conservation (operator).
void RegisterNodeRoutes(Router& router, const ApiContext& ctx);
// POST /api/account/create, GET /api/account/:address/{balance,transactions,stats},
// GET /api/account/list (operator).
void RegisterAccountRoutes(Router& router, const ApiContext& ctx);
// POST /api/transaction/{send,batch,estimate-gas}, GET /api/transaction/{:hash,pending,stats},
// GET /api/operations (the latest operations of every account).
void RegisterTransactionRoutes(Router& router, const ApiContext& ctx);
// Every registered operation type, one rule (docs/SIGNING.md):
// GET /api/operation/types, POST /api/operation/message,
// POST /api/operation/submit.
void RegisterOperationRoutes(Router& router, const ApiContext& ctx);
// The AMM (docs/API.md "DeFi"): POST /api/defi/{pool/create,liquidity/add,
// liquidity/remove,swap,swap/route,quote}, GET /api/defi/pools,
// GET /api/defi/pool/:id, GET /api/defi/pool/:id/twap.
void RegisterDefiRoutes(Router& router, const ApiContext& ctx);

// GET /metrics (operator): Prometheus text format (docs/API.md "Metrics").
void RegisterMetricsRoutes(Router& router, const ApiContext& ctx);

// All of the above, plus the rollup routes (kray/api/handlers_rollup.h),
// the bridge routes (kray/api/handlers_bridge.h), the market routes
// (kray/api/handlers_market.h), the validator and reward routes
// (kray/api/handlers_{validators,rewards}.h), GET /api/openapi.json
// (kray/api/openapi.h) and the explorer (kray/api/explorer.h).
void RegisterAllRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
