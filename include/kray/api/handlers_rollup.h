// Rollup endpoints (docs/ROLLUP.md, "API"):
//   GET /api/rollup/state-root
//   GET /api/rollup/batches?limit=&before=&offset=   (newest first; limit 1..500, default 50)
//   GET /api/rollup/batch/:id                        (header)
//   GET /api/rollup/batch/:id/operations?after=&limit=  (every operation as recorded, paged;
//                                                     /transactions is the same route)
//   GET /api/rollup/genesis                          (genesis file + root, for verifychain)
//   GET /api/account/:address/proof?batch=N          (omit batch: the index's head)
// Reads only; 503 "rollup_not_initialized" without the index.
#pragma once

namespace kray::api {

class Router;
struct ApiContext;

void RegisterRollupRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
