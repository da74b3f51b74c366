// Gaming reward endpoints (see include/kray/api/handlers_rewards.h). Writes
// are the rewards module's operations (the award with the operator token,
// the claim signed by the rewarded account); reads call the module's read
// queries on a pooled read connection.
#include "kray/api/handlers_rewards.h"

#include "kray/api/router.h"
#include "kray/rewards/rewards.h"
#include "kray/state/request.h"
#include "module_routes.h"

namespace kray::api {
namespace {

constexpr int kMaxLimit = 500;

Json RewardJson(const rewards::Reward& r, std::int64_t now) {
  Json j = {{"reward_id", r.reward_id},
            {"account_id", r.account_id},
            {"type", rewards::RewardTypeName(r.type)},
            {"amount_credits", AmountString(r.amount)},
            {"amount_kray", KrayString(r.amount)},
            {"memo", r.memo},
            {"status", rewards::RewardStatusName(r.StatusAt(now))},
            {"awarded_at", r.awarded_at},
            {"expires_at", r.expires_at},
            {"closed_at", r.closed_at == 0 ? Json(nullptr) : Json(r.closed_at)}};
  if (r.type == rewards::RewardType::kAchievement) j["achievement_id"] = r.achievement_id;
  if (r.type == rewards::RewardType::kTournament) {
    j["game_id"] = r.game_id;
    j["placement"] = r.placement;
  }
  if (r.type == rewards::RewardType::kReferral) j["referred_account"] = r.referred_account;
  return j;
}

Json TotalsJson(const rewards::RewardStats::Totals& t) {
  return Json{{"count", t.count}, {"amount_credits", U128Decimal(t.amount)}};
}

void Stats(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto s = rewards::GetRewardStats(db);
    if (!s.ok()) return std::move(s).error();
    auto config = rewards::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    Json by_type = Json::object();
    for (const auto& [type, totals] : s->awarded_by_type) by_type[type] = TotalsJson(totals);
    return Json{{"by_type", std::move(by_type)},
                {"awarded", TotalsJson(s->awarded)},
                {"claimed", TotalsJson(s->claimed)},
                {"expired", TotalsJson(s->expired)},
                {"pending", TotalsJson(s->pending)},
                {"treasury", s->treasury ? Json(*s->treasury) : Json(nullptr)},
                {"treasury_available_credits", AmountString(s->treasury_available)},
                {"claim_period", config->has_value() ? Json((*config)->claim_period) : Json(nullptr)}};
  });
}

void OneReward(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto id = ParseAmount(req.Param("id"));
  if (!id.ok() || *id == 0 || std::to_string(*id) != req.Param("id"))
    return reply(ErrorResponse(Error::Invalid("invalid_field", "reward id must be a positive integer")));
  std::int64_t now = ctx.ledger->Now();
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto r = rewards::FindReward(db, *id);
    if (!r.ok()) return std::move(r).error();
    if (!r->has_value()) return Error::NotFound("reward_not_found", "no reward " + std::to_string(*id));
    return RewardJson(**r, now);
  });
}

// Claimable rewards (newest first, up to `limit`) and the history (claimed
// or expired), paged by `before`.
void OfAccount(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto who = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!who.ok()) return reply(ErrorResponse(who.error()));
  auto limit = QueryInt(req, "limit", 100, 1, kMaxLimit);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto before = QueryU64(req, "before");
  if (!before.ok()) return reply(ErrorResponse(before.error()));
  std::int64_t now = ctx.ledger->Now();
  ReadStateReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    store::ReadTransaction snapshot(db);
    auto pending = rewards::RewardsOf(db, who->account_id, rewards::RewardSet::kClaimable, 0, *limit, now);
    if (!pending.ok()) return std::move(pending).error();
    auto history = rewards::RewardsOf(db, who->account_id, rewards::RewardSet::kHistory, *before, *limit, now);
    if (!history.ok()) return std::move(history).error();
    Json p = Json::array(), h = Json::array();
    u128 total = 0;  // up to 500 amounts of up to 2^63-1 each
    for (const auto& r : *pending) {
      p.push_back(RewardJson(r, now));
      total += r.amount;
    }
    for (const auto& r : *history) h.push_back(RewardJson(r, now));
    bool full = static_cast<int>(history->size()) == *limit;
    return Json{{"account_id", who->account_id},
                {"pending", std::move(p)},
                {"pending_credits", U128Decimal(total)},
                {"history", std::move(h)},
                {"next_before", full ? Json(history->back().reward_id) : Json(nullptr)}};
  });
}

}  // namespace

void RegisterRewardRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/api/rewards/award", [&ctx](const HttpRequest& req, Reply reply) {
    SubmitBodyAs(ctx, req, std::move(reply), rewards::kAwardOp);
  });
  router.Add("POST", "/api/rewards/claim", [&ctx](const HttpRequest& req, Reply reply) {
    SubmitBodyAs(ctx, req, std::move(reply), rewards::kClaimOp);
  });
  router.Add("GET", "/api/rewards/stats",
             [&ctx](const HttpRequest& req, Reply reply) { Stats(ctx, req, std::move(reply)); });
  router.Add("GET", "/api/rewards/reward/:id",
             [&ctx](const HttpRequest& req, Reply reply) { OneReward(ctx, req, std::move(reply)); });
  router.Add("GET", "/api/rewards/:account",
             [&ctx](const HttpRequest& req, Reply reply) { OfAccount(ctx, req, std::move(reply)); });
}

}  // namespace kray::api
