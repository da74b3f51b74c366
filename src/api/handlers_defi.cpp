// AMM endpoints (docs/API.md "DeFi"). Writes are the defi module's signed
// operations, one signing rule (docs/SIGNING.md): the body's fields other
// than signature, nonce, sig_scheme and the signer's account field are the
// signed fields.
//   POST /api/defi/pool/create       pool_create       (creator_account)
//   POST /api/defi/liquidity/add     liquidity_add     (account_id)
//   POST /api/defi/liquidity/remove  liquidity_remove  (account_id)
//   POST /api/defi/swap              swap              (account_id)
//   POST /api/defi/swap/route        swap_route        (account_id)
// Reads (defi.h read functions on a read connection):
//   POST /api/defi/quote, GET /api/defi/pools?active=,
//   GET /api/defi/pool/:id, GET /api/defi/pool/:id/twap?window=
#include "kray/api/handlers.h"
#include "kray/api/router.h"
#include "kray/defi/defi.h"
#include "kray/state/ledger.h"
#include "op_json.h"

namespace kray::api {
namespace {

std::string U128String(u128 v) {
  return defi::U256::FromU128(v).ToDecimal();
}

void SubmitOperation(const ApiContext& ctx, const HttpRequest& req, Reply reply, std::string_view op_name) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const state::OperationType* type = ctx.ledger->registry().FindOperation(op_name);
  if (!type) return reply(ErrorResponse(Error::Internal("operation " + std::string(op_name) + " is not registered")));
  auto request = RequestFromBody(*body, *type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  ctx.ledger->SubmitRequest(*request, AnswerLater(std::move(reply)));
}

Json PoolJson(const defi::PoolDetails& d) {
  const defi::Pool& p = d.pool;
  return Json{{"pool_id", p.pool_id},
              {"token_a", p.asset_a},
              {"token_b", p.asset_b},
              {"reserve_a", AmountString(p.reserve_a)},
              {"reserve_b", AmountString(p.reserve_b)},
              {"lp_asset", d.lp_asset},
              {"lp_supply", AmountString(p.lp_supply)},
              {"locked_liquidity", AmountString(defi::kMinimumLiquidity)},
              {"price_a_in_b", d.price_a_in_b},
              {"price_b_in_a", d.price_b_in_a},
              {"tvl", {{p.asset_a, d.tvl_a}, {p.asset_b, d.tvl_b}}},
              {"volume_24h", {{p.asset_a, U128String(d.volume_24h_a)}, {p.asset_b, U128String(d.volume_24h_b)}}},
              {"swaps_24h", d.swaps_24h},
              {"swap_count", d.swap_count},
              {"fee_rate", "0.003"},
              {"fee_bps", defi::kFeeBasisPoints},
              {"protocol_fee", d.protocol_fee},
              {"price_a_cumulative", p.price_a_cumulative.ToDecimal()},
              {"price_b_cumulative", p.price_b_cumulative.ToDecimal()},
              {"timestamp_last", p.timestamp_last},
              {"created_at", p.created_at}};
}

void Pools(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  std::optional<bool> active;
  if (auto a = req.Query("active")) {
    if (*a == "true" || *a == "1")
      active = true;
    else if (*a == "false" || *a == "0")
      active = false;
    else
      return reply(ErrorResponse(Error::Invalid("invalid_field", "active must be true or false")));
  }
  const std::int64_t now = ctx.ledger->Now();
  Json arr = Json::array();
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto pools = defi::ListPools(db);
    if (!pools.ok()) return std::move(pools).error();
    for (const auto& p : *pools) {
      // Active: someone holds liquidity beyond the units locked forever.
      if (active && (p.lp_supply > defi::kMinimumLiquidity) != *active) continue;
      auto d = defi::DescribePool(db, ctx.ledger->params(), p, now);
      if (!d.ok()) return std::move(d).error();
      arr.push_back(PoolJson(*d));
    }
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse({{"pools", arr}, {"count", arr.size()}}));
}

void PoolById(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  Json out;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto p = defi::GetPool(db, ctx.ledger->params(), req.Param("id"));
    if (!p.ok()) return std::move(p).error();
    auto d = defi::DescribePool(db, ctx.ledger->params(), *p, ctx.ledger->Now());
    if (!d.ok()) return std::move(d).error();
    out = PoolJson(*d);
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse(out));
}

void Twap(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto window = QueryU64(req, "window");
  if (!window.ok()) return reply(ErrorResponse(window.error()));
  if (!req.Query("window")) *window = 3600;
  if (*window == 0 || *window > static_cast<std::uint64_t>(INT64_MAX / 2))
    return reply(ErrorResponse(Error::Invalid("invalid_field", "window must be a number of seconds >= 1")));
  Json out;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto t =
        defi::GetTwap(db, ctx.ledger->params(), req.Param("id"), static_cast<std::int64_t>(*window), ctx.ledger->Now());
    if (!t.ok()) return std::move(t).error();
    out = {{"pool_id", t->pool_id},
           {"window", t->to - t->from},
           {"requested_window", t->requested_window},
           {"from", t->from},
           {"to", t->to},
           {"price_a_in_b", t->price_a_in_b},
           {"price_b_in_a", t->price_b_in_a},
           {"average_a_uq112x112", t->average_a_uq112.ToDecimal()},
           {"average_b_uq112x112", t->average_b_uq112.ToDecimal()}};
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse(out));
}

Result<defi::QuoteRequest> ParseQuote(const Json& body) {
  for (const auto& [key, value] : body.items())
    if (key != "pool_id" && key != "token_in" && key != "path" && key != "amount_in" && key != "slippage_bps")
      return Error::Invalid("unknown_field", "quote has no field '" + key + "'");
  defi::QuoteRequest q;
  for (auto [key, out] : {std::pair{"pool_id", &q.pool_id}, {"token_in", &q.token_in}, {"path", &q.path}}) {
    auto v = OptionalString(body, key, "");
    if (!v.ok()) return std::move(v).error();
    *out = std::move(*v);
  }
  if (!q.pool_id.empty() && q.token_in.empty()) return Error::Invalid("missing_field", "missing field 'token_in'");
  auto amount = RequireAmount(body, "amount_in");
  if (!amount.ok()) return std::move(amount).error();
  q.amount_in = *amount;
  if (body.contains("slippage_bps") && !body["slippage_bps"].is_null()) {
    auto bps = RequireU64(body, "slippage_bps");
    if (!bps.ok()) return std::move(bps).error();
    if (*bps > 10000) return Error::Invalid("invalid_field", "slippage_bps must be 0..10000 (50 = 0.5%)");
    q.slippage_bps = static_cast<std::uint32_t>(*bps);
  }
  return q;
}

void QuoteHandler(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  auto request = ParseQuote(*body);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  Json out;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto q = defi::QuoteSwap(db, ctx.ledger->params(), *request);
    if (!q.ok()) return std::move(q).error();
    Json amounts = Json::array();
    for (Amount a : q->amounts) amounts.push_back(AmountString(a));
    out = {{"token_in", q->path.front()},
           {"token_out", q->path.back()},
           {"amount_in", AmountString(q->amount_in)},
           {"amount_out", AmountString(q->amount_out)},
           {"spot_price", q->spot_price},
           {"effective_price", q->effective_price},
           {"price_impact", q->price_impact},
           {"minimum_received", AmountString(q->minimum_received)},
           {"slippage_bps", q->slippage_bps},
           {"fee_bps", defi::kFeeBasisPoints},
           {"path", q->path},
           {"pools", q->pools},
           {"amounts", amounts}};
    if (q->pools.size() == 1) out["pool_id"] = q->pools.front();
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse(out));
}

}  // namespace

void RegisterDefiRoutes(Router& router, const ApiContext& ctx) {
  auto submit = [&ctx](std::string_view op) {
    return [&ctx, op](const HttpRequest& req, Reply reply) { SubmitOperation(ctx, req, std::move(reply), op); };
  };
  auto bind = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/defi/pool/create", submit(defi::kPoolCreateOp));
  router.Add("POST", "/api/defi/liquidity/add", submit(defi::kLiquidityAddOp));
  router.Add("POST", "/api/defi/liquidity/remove", submit(defi::kLiquidityRemoveOp));
  router.Add("POST", "/api/defi/swap", submit(defi::kSwapOp));
  router.Add("POST", "/api/defi/swap/route", submit(defi::kSwapRouteOp));
  router.Add("POST", "/api/defi/quote", bind(QuoteHandler));
  router.Add("GET", "/api/defi/pools", bind(Pools));
  router.Add("GET", "/api/defi/pool/:id", bind(PoolById));
  router.Add("GET", "/api/defi/pool/:id/twap", bind(Twap));
}

}  // namespace kray::api
