// Gaming reward endpoints (docs/API.md, "Rewards"; docs/REWARDS.md):
//   POST /api/rewards/award          reward_award  operator (Authorization: Bearer)
//   POST /api/rewards/claim          reward_claim  signed (account_id)
//   GET  /api/rewards/stats          totals by type, claimed, expired, pending, treasury
//   GET  /api/rewards/reward/:id     one reward
//   GET  /api/rewards/:account?limit=&before=   claimable rewards and history
#pragma once

namespace kray::api {

class Router;
struct ApiContext;

void RegisterRewardRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
