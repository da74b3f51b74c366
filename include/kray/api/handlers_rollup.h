// Rollup endpoints (docs/ROLLUP.md, "API"):
//   GET /api/rollup/state-root
//   GET /api/rollup/batches?limit=&offset=         (newest first; limit 1..500, default 50)
//   GET /api/rollup/batch/:id                      (header + tx hashes)
//   GET /api/rollup/batch/:id/transactions         (every signed tx + account events, in order)
//   GET /api/rollup/genesis                        (genesis leaf snapshot, for verifychain)
//   GET /api/account/:address/proof?batch=N        (omit batch: current state)
// Reads only (Ledger::WithReader); 503 "rollup_not_initialized" before the
// rollup is attached.
#pragma once

namespace kray::api {

class Router;
struct ApiContext;

void RegisterRollupRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
