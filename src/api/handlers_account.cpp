// Account endpoints (API.md "Endpoints mirrored from the original"):
//   POST /api/account/create, GET /api/account/:address/balance,
//   GET /api/account/:address/transactions, GET /api/account/:address/stats,
//   GET /api/account/list (operator).
// Every :address accepts an account id (kray_...) or an L1 taproot address.
#include "kray/api/handlers.h"
#include "kray/api/router.h"
#include "kray/state/ledger.h"
#include "state_json.h"

namespace kray::api {

namespace {

Json AccountSummary(const state::Account& a) {
  return Json{{"account_id", a.account_id},
              {"l1_address", a.l1_address},
              {"pubkey", a.pubkey_hex.empty() ? Json(nullptr) : Json(a.pubkey_hex)},
              {"nonce", a.nonce},
              {"created_at", a.created_at}};
}

void Create(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  auto addr = RequireString(*body, "l1_address");
  if (!addr.ok()) return reply(ErrorResponse(addr.error()));
  auto pubkey = RequireString(*body, "pubkey");
  if (!pubkey.ok()) return reply(ErrorResponse(pubkey.error()));
  ctx.ledger->CreateAccount(std::move(*addr), std::move(*pubkey), [reply = std::move(reply)](Result<state::Account> r) {
    if (!r.ok()) return reply(ErrorResponse(r.error()));
    Json j = AccountSummary(*r);
    j["balance_credits"] = AmountString(r->BalanceOf(std::string(kGasAsset)).available);
    reply(JsonResponse(j));
  });
}

Json BalanceJson(const state::Account& a, const ChainParams& params) {
  auto k = a.BalanceOf(std::string(kGasAsset));
  Amount total = 0;
  bool overflow = false;
  for (Amount part : {k.available, k.staked, k.locked}) {
    auto t = CheckedAdd(total, part);
    overflow |= !t;
    total = t.value_or(total);
  }
  Json j = {{"account_id", a.account_id},
            {"l1_address", a.l1_address},
            {"balance_credits", AmountString(k.available)},
            {"balance_kray", KrayString(k.available)},
            {"staked_credits", AmountString(k.staked)},
            {"staked_kray", KrayString(k.staked)},
            {"locked_credits", AmountString(k.locked)},
            {"locked_kray", KrayString(k.locked)},
            {"nonce", a.nonce},
            {"has_pubkey", !a.pubkey_hex.empty()}};
  // Unreachable while conservation holds (every sum is <= the asset's supply);
  // never report a wrapped total.
  j["total_credits"] = overflow ? Json(nullptr) : Json(AmountString(total));
  j["total_kray"] = overflow ? Json(nullptr) : Json(KrayString(total));
  Json balances = Json::object();
  for (const auto& asset : params.assets) {
    auto b = a.BalanceOf(asset.symbol);
    balances[asset.symbol] = {{"available", AmountString(b.available)},
                              {"staked", AmountString(b.staked)},
                              {"locked", AmountString(b.locked)},
                              {"decimals", asset.decimals}};
  }
  for (const auto& b : a.balances) {  // assets outside the configured set, if any
    if (!balances.contains(b.asset)) {
      balances[b.asset] = {{"available", AmountString(b.available)},
                           {"staked", AmountString(b.staked)},
                           {"locked", AmountString(b.locked)},
                           {"decimals", nullptr}};
    }
  }
  j["balances"] = std::move(balances);
  return j;
}

void Balance(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto acct = ctx.ledger->GetAccount(req.Param("address"));
  if (!acct.ok()) return reply(ErrorResponse(acct.error()));
  reply(JsonResponse(BalanceJson(*acct, ctx.ledger->params())));
}

void Transactions(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto limit = QueryInt(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto offset = QueryInt(req, "offset", 0, 0, 1000000000);
  if (!offset.ok()) return reply(ErrorResponse(offset.error()));
  auto id = ctx.ledger->ResolveAccountId(req.Param("address"));
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto txs = ctx.ledger->AccountTransactions(*id, *limit, *offset);
  if (!txs.ok()) return reply(ErrorResponse(txs.error()));
  Json arr = Json::array();
  for (const auto& t : *txs) arr.push_back(TxRecordJson(t));
  reply(JsonResponse({{"account_id", *id},
                      {"transactions", std::move(arr)},
                      {"count", txs->size()},
                      {"limit", *limit},
                      {"offset", *offset}}));
}

void Stats(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto s = ctx.ledger->GetAccountStats(req.Param("address"));
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse({{"account_id", s->account_id},
                      {"tx_count", s->tx_count},
                      {"sent_count", s->sent_count},
                      {"received_count", s->received_count},
                      {"gas_spent_credits", AmountString(s->gas_spent)},
                      {"gas_spent_kray", KrayString(s->gas_spent)},
                      {"deposit_count", s->deposit_count},
                      {"deposited_credits", AmountString(s->deposited)},
                      {"withdrawal_count", s->withdrawal_count},
                      {"withdrawn_credits", AmountString(s->withdrawn)}}));
}

void List(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto offset = QueryInt(req, "offset", 0, 0, 1000000000);
  if (!offset.ok()) return reply(ErrorResponse(offset.error()));
  auto accounts = ctx.ledger->ListAccounts(*limit, *offset);
  if (!accounts.ok()) return reply(ErrorResponse(accounts.error()));
  Json arr = Json::array();
  for (const auto& a : *accounts) {
    Json j = AccountSummary(a);
    j["balance_credits"] = AmountString(a.BalanceOf(std::string(kGasAsset)).available);
    arr.push_back(std::move(j));
  }
  reply(JsonResponse(
      {{"accounts", std::move(arr)}, {"count", accounts->size()}, {"limit", *limit}, {"offset", *offset}}));
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
