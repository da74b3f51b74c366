// Node endpoints: GET /health, GET /api/node/conservation (operator).
#include <chrono>
#include <ctime>

#include "kray/api/explorer.h"
#include "kray/api/handlers.h"
#include "kray/api/handlers_bridge.h"
#include "kray/api/handlers_market.h"
#include "kray/api/handlers_rewards.h"
#include "kray/api/handlers_rollup.h"
#include "kray/api/handlers_validators.h"
#include "kray/api/openapi.h"
#include "kray/api/router.h"
#include "kray/rollup/rollup.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "op_json.h"

namespace kray::api {

namespace {

std::string IsoUtc(std::chrono::system_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

void Health(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  auto now = std::chrono::system_clock::now();
  auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto& ledger = *ctx.ledger;
  Json j = {{"status", "ok"},
            {"timestamp", IsoUtc(now)},
            {"timestamp_unix", unix_now},
            {"network", ledger.params().chain_id},
            {"bitcoin_network", NetworkName(ledger.params().network)},
            {"version", ctx.version},
            {"uptime_seconds", unix_now - ctx.started_at},
            {"store_version", store::StoreVersion()},
            {"accept_legacy", ledger.options().accept_legacy}};
  auto stats = ledger.GetTxStats();
  if (!stats.ok()) {
    j["status"] = "error";
    j["error"] = stats.error().message;
    return reply(JsonResponse(j, 503));
  }
  j["stats"] = {{"accounts", stats->accounts},
                {"transactions", stats->total},
                {"pending", stats->pending},
                {"queue_depth", ledger.queue_depth()},
                {"gas_collected_credits", AmountString(stats->gas_collected)}};
  if (ctx.rollup) {
    (void)ctx.rollup->WithReader([&](store::Database& db) -> Status {
      auto st = rollup::GetRollupStatus(db);
      if (st.ok())
        j["rollup"] = {
            {"last_batch", st->last_batch()}, {"state_root", st->state_root}, {"applied_seq", st->applied_seq}};
      return Ok();
    });
  }
  j["l1"] = BridgeHealthJson(ctx);
  reply(JsonResponse(j));
}

void Conservation(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  auto report = ctx.ledger->CheckConservation();
  if (!report.ok()) return reply(ErrorResponse(report.error()));
  Json lines = Json::array();
  for (const auto& l : report->lines) {
    Json extra = Json::object();
    for (const auto& [name, amount] : l.extra) extra[name] = AmountString(amount);
    lines.push_back({{"asset", l.asset},
                     {"ok", l.ok},
                     {"genesis", AmountString(l.genesis)},
                     {"minted", AmountString(l.minted)},
                     {"balances", AmountString(l.balances)},
                     {"fee_pool", AmountString(l.fee_pool)},
                     {"burned", AmountString(l.burned)},
                     {"extra", extra}});
  }
  reply(JsonResponse(
      {{"ok", report->ok}, {"assets", lines}, {"violations", report->violations}, {"report", report->ToString()}}));
}

}  // namespace

void RegisterNodeRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/health", [&ctx](const HttpRequest& req, Reply reply) { Health(ctx, req, std::move(reply)); });
  router.Add("GET", "/api/node/conservation",
             [&ctx](const HttpRequest& req, Reply reply) { Conservation(ctx, req, std::move(reply)); });
}

void RegisterAllRoutes(Router& router, const ApiContext& ctx) {
  RegisterNodeRoutes(router, ctx);
  RegisterAccountRoutes(router, ctx);
  RegisterTransactionRoutes(router, ctx);
  RegisterOperationRoutes(router, ctx);
  RegisterDefiRoutes(router, ctx);
  RegisterRollupRoutes(router, ctx);
  RegisterBridgeRoutes(router, ctx);
  RegisterMarketRoutes(router, ctx);
  RegisterValidatorRoutes(router, ctx);
  RegisterRewardRoutes(router, ctx);
  RegisterMetricsRoutes(router, ctx);
  RegisterOpenApiRoutes(router, ctx);
  RegisterExplorerRoutes(router);
}

}  // namespace kray::api
