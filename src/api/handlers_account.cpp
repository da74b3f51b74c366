// Account endpoints (API.md "Endpoints mirrored from the original"):
//   POST /api/account/create, GET /api/account/:address/balance,
//   GET /api/account/:address/transactions, GET /api/account/:address/stats,
//   GET /api/account/list (operator).
// Every :address accepts an account id (kray_...) or an L1 taproot address.
#include <algorithm>

#include "json_writer.h"
#include "kray/api/handlers.h"
#include "kray/api/router.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/withdrawals.h"
#include "kray/state/core_module.h"
#include "kray/state/ledger.h"
#include "kray/state/tx_message.h"
#include "op_json.h"

namespace kray::api {

namespace {

Json AccountSummary(const state::Account& a) {
  return Json{{"account_id", a.account_id},
              {"l1_address", a.l1_address},
              {"pubkey", a.pubkey_hex.empty() ? Json(nullptr) : Json(a.pubkey_hex)},
              {"nonce", a.nonce},
              {"created_at", a.created_at}};
}

// The core "account_create" operation: public (the pubkey must be the
// address's BIP-86 key) or, with a signature, signed v1 by that key as proof
// of possession. Idempotent: a repeat records nothing and answers the account.
void Create(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const auto& type = *ctx.ledger->registry().FindOperation(state::kAccountCreateOp);
  auto request = RequestFromBody(*body, type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  if (auto limited = ChargePublicOperation(ctx, req, request->auth)) return reply(std::move(*limited));
  auto op = state::BuildOperation(ctx.ledger->params(), ctx.ledger->registry(), *request);
  if (!op.ok()) {
    Error e = std::move(op).error();
    if (e.code == "invalid_address") e.message = "'l1_address': " + e.message;
    return reply(ErrorResponse(e));
  }
  std::string id = state::AccountIdFromAddress(*op->Field("l1_address"));
  state::Ledger* ledger = ctx.ledger;
  ledger->Submit(std::move(*op),
                 AnswerLater(std::move(reply), [ledger, id](const Result<state::Receipt>& r) -> HttpResponse {
                   if (!r.ok()) return ErrorResponse(r.error());
                   auto acct = ledger->GetAccount(id);
                   if (!acct.ok()) return ErrorResponse(acct.error());
                   Json j = AccountSummary(*acct);
                   j["balance_credits"] = AmountString(acct->BalanceOf(std::string(kGasAsset)).available);
                   if (!r->no_change) j["tx_hash"] = r->op->hash;
                   return JsonResponse(j);
                 }));
}

// One asset's buckets; `decimals` is the configured one, or null ("null").
std::string AssetBalanceJson(const state::Balance& b, std::string decimals) {
  JsonObjectWriter w;
  w.String("available", AmountString(b.available))
      .String("staked", AmountString(b.staked))
      .String("locked", AmountString(b.locked))
      .Raw("decimals", std::move(decimals));
  return w.Finish();
}

// Written without a JSON tree: balance reads are the API's most frequent
// request, and building and dumping a nlohmann object was a quarter of
// krayd's time serving them (docs/BENCHMARKS.md, fourteenth round).
std::string BalanceBody(const state::Account& a, const ChainParams& params) {
  auto k = a.BalanceOf(std::string(kGasAsset));
  Amount total = 0;
  bool overflow = false;
  for (Amount part : {k.available, k.staked, k.locked}) {
    auto t = CheckedAdd(total, part);
    overflow |= !t;
    total = t.value_or(total);
  }
  JsonObjectWriter balances;
  for (const auto& asset : params.assets)
    balances.Raw(asset.symbol, AssetBalanceJson(a.BalanceOf(asset.symbol), std::to_string(asset.decimals)));
  for (const auto& b : a.balances) {  // assets outside the configured set, if any
    bool configured = std::any_of(params.assets.begin(), params.assets.end(),
                                  [&](const auto& asset) { return asset.symbol == b.asset; });
    if (!configured) balances.Raw(b.asset, AssetBalanceJson(b, "null"));
  }
  JsonObjectWriter w;
  w.String("account_id", a.account_id)
      .String("l1_address", a.l1_address)
      .String("balance_credits", AmountString(k.available))
      .String("balance_kray", KrayString(k.available))
      .String("staked_credits", AmountString(k.staked))
      .String("staked_kray", KrayString(k.staked))
      .String("locked_credits", AmountString(k.locked))
      .String("locked_kray", KrayString(k.locked))
      .Unsigned("nonce", a.nonce)
      .Bool("has_pubkey", !a.pubkey_hex.empty());
  // Unreachable while conservation holds (every sum is <= the asset's supply);
  // never report a wrapped total.
  if (overflow) {
    w.Raw("total_credits", "null").Raw("total_kray", "null");
  } else {
    w.String("total_credits", AmountString(total)).String("total_kray", KrayString(total));
  }
  w.Raw("balances", balances.Finish());
  return w.Finish();
}

void Balance(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto acct = ctx.ledger->GetAccount(req.Param("address"));
  if (!acct.ok()) return reply(ErrorResponse(acct.error()));
  reply(JsonTextResponse(BalanceBody(*acct, ctx.ledger->params())));
}

// Newest first. Cursor paging: ?before=<seq> (the `next_before` of the
// previous page); ?offset= is kept for the original API, bounded.
void Transactions(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto limit = QueryInt(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto offset = QueryInt(req, "offset", 0, 0, 10000);
  if (!offset.ok()) return reply(ErrorResponse(offset.error()));
  auto before = QueryU64(req, "before");
  if (!before.ok()) return reply(ErrorResponse(before.error()));
  auto id = ctx.ledger->ResolveAccount(req.Param("address"));
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto ops = ctx.ledger->AccountOperations(id->account_id, *before, *limit, *offset);
  if (!ops.ok()) return reply(ErrorResponse(ops.error()));
  Json arr = Json::array();
  for (const auto& op : *ops) arr.push_back(OperationWithBatch(ctx, op));
  bool full = static_cast<int>(ops->size()) == *limit;
  reply(JsonResponse({{"account_id", id->account_id},
                      {"transactions", std::move(arr)},
                      {"count", ops->size()},
                      {"limit", *limit},
                      {"offset", *offset},
                      {"next_before", full ? Json(ops->back().seq) : Json(nullptr)}}));
}

// The bridge module's counts of the account's deposits and withdrawals
// (zero on a ledger without the bridge module, e.g. an embedding).
Status FillBridgeCounts(const state::Ledger& ledger, state::AccountStats& s) {
  if (!ledger.registry().FindOperation(bridge::kDepositCreditOp)) return Ok();
  return ledger.WithReader([&](store::Database& db) -> Status {
    store::ReadTransaction snapshot(db);
    auto deposits = bridge::CountAccountDeposits(db, s.account_id);
    if (!deposits.ok()) return std::move(deposits).error();
    auto withdrawals = bridge::CountAccountWithdrawals(db, s.account_id);
    if (!withdrawals.ok()) return std::move(withdrawals).error();
    s.deposit_count = *deposits;
    s.withdrawal_count = *withdrawals;
    return Ok();
  });
}

void Stats(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto s = ctx.ledger->GetAccountStats(req.Param("address"));
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  if (Status counted = FillBridgeCounts(*ctx.ledger, *s); !counted.ok()) return reply(ErrorResponse(counted.error()));
  reply(JsonResponse({{"account_id", s->account_id},
                      {"tx_count", s->tx_count},
                      {"sent_count", s->sent_count},
                      {"received_count", s->received_count},
                      {"gas_spent_credits", AmountString(s->gas_spent)},
                      {"gas_spent_kray", KrayString(s->gas_spent)},
                      {"deposit_count", s->deposit_count},
                      {"withdrawal_count", s->withdrawal_count}}));
}

void List(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto offset = QueryInt(req, "offset", 0, 0, 10000);
  if (!offset.ok()) return reply(ErrorResponse(offset.error()));
  std::string after(req.Query("after").value_or(""));
  auto accounts = ctx.ledger->ListAccounts(*limit, after, *offset);
  if (!accounts.ok()) return reply(ErrorResponse(accounts.error()));
  Json arr = Json::array();
  for (const auto& a : *accounts) {
    Json j = AccountSummary(a);
    j["balance_credits"] = AmountString(a.BalanceOf(std::string(kGasAsset)).available);
    arr.push_back(std::move(j));
  }
  bool full = static_cast<int>(accounts->size()) == *limit;
  reply(JsonResponse({{"accounts", std::move(arr)},
                      {"count", accounts->size()},
                      {"limit", *limit},
                      {"offset", *offset},
                      {"next_after", full ? Json(accounts->back().account_id) : Json(nullptr)}}));
}

}  // namespace

void RegisterAccountRoutes(Router& router, const ApiContext& ctx) {
  auto bind = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/account/create", bind(Create));
  router.Add("GET", "/api/account/list", bind(List));
  router.Add("GET", "/api/account/:address/balance", bind(Balance));
  router.Add("GET", "/api/account/:address/transactions", bind(Transactions));
  router.Add("GET", "/api/account/:address/stats", bind(Stats));
}

}  // namespace kray::api
