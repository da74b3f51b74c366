// Withdrawal and spend endpoints (docs/API.md "Withdrawals"). Thin: parse,
// one write through the Ledger (request, challenge, resolution) or the spend
// coordinator (co-signers' PSBTs), or reads of the bridge module's tables
// and the coordinator's records; JSON out.
#include <algorithm>
#include <charconv>

#include "kray/api/handlers.h"
#include "kray/api/handlers_bridge.h"
#include "kray/api/router.h"
#include "kray/bridge/scanner.h"
#include "kray/bridge/spends.h"
#include "kray/bridge/withdrawals.h"
#include "kray/rollup/batch.h"
#include "kray/state/ledger.h"
#include "module_routes.h"
#include "op_json.h"

namespace kray::api {
namespace {

Result<std::uint64_t> PathId(const HttpRequest& req) {
  std::string_view s = req.Param("id");
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0 || std::to_string(v) != s)
    return Error::Invalid("invalid_field", "the withdrawal id must be a positive decimal integer");
  return v;
}

Result<bridge::Withdrawal> LoadWithdrawal(const ApiContext& ctx, const HttpRequest& req) {
  auto id = PathId(req);
  if (!id.ok()) return std::move(id).error();
  auto w = ctx.ledger->Read<std::optional<bridge::Withdrawal>>(
      [&](store::Database& db) { return bridge::FindWithdrawal(db, *id); });
  if (!w.ok()) return std::move(w).error();
  if (!w->has_value()) return Error::NotFound("withdrawal_not_found", "no withdrawal " + std::to_string(*id));
  return std::move(**w);
}

Json SpendViewJson(const bridge::SpendView& v, std::uint32_t required) {
  Json versions = Json::array();
  Json txids = Json::array();
  std::optional<std::string> current;
  for (const auto& x : v.versions) {
    txids.push_back(x.txid);
    if (x.broadcast_at) current = x.txid;
    versions.push_back({{"version", x.version},
                        {"txid", x.txid},
                        {"fee_sats", std::to_string(x.fee)},
                        {"feerate_sat_vb", static_cast<double>(x.feerate) / 1000.0},
                        {"vsize", x.vsize},
                        {"signers", x.signers},
                        {"finalized", x.finalized},
                        {"broadcast_at", x.broadcast_at ? Json(*x.broadcast_at) : Json(nullptr)},
                        {"reject_reason", x.reject_reason.empty() ? Json(nullptr) : Json(x.reject_reason)},
                        {"l1", x.l1.empty() ? Json(nullptr) : Json(x.l1)}});
  }
  if (!v.mined_txid.empty()) current = v.mined_txid;
  const auto& latest = v.versions.empty() ? bridge::SpendVersionView{} : v.versions.back();
  return {{"id", v.id},
          {"kind", v.kind},
          {"batch", v.kind == "anchor" ? Json(v.batch) : Json(nullptr)},
          {"state", v.state},
          {"detail", v.detail.empty() ? Json(nullptr) : Json(v.detail)},
          {"inputs", v.inputs},
          {"version", latest.version},
          {"signers", latest.signers},
          {"threshold", bridge::kFederationThreshold},
          {"txids", txids},
          {"txid", current ? Json(*current) : Json(nullptr)},
          {"mined_height", v.mined_height ? Json(*v.mined_height) : Json(nullptr)},
          {"confirmations", v.confirmations},
          {"required", required},
          {"versions", versions}};
}

// The stage a wallet shows, from the L2 status and what the node knows of L1.
std::string Stage(const bridge::Withdrawal& w, std::int64_t now, const std::optional<bridge::SpendView>& spend) {
  if (w.status == "pending") return now < w.deadline ? "challenge_period" : "ready";
  if (w.status != "signing" || !spend) return w.status;
  if (spend->mined_height) return "confirming";
  for (const auto& v : spend->versions)
    if (v.broadcast_at) return "broadcast";
  return "signing";
}

Json WithdrawalJson(const ApiContext& ctx, const bridge::Withdrawal& w) {
  const std::int64_t now = ctx.ledger->Now();
  std::optional<bridge::SpendView> spend;
  if (ctx.spends && !w.spend_id.empty()) {
    auto s = ctx.spends->GetSpend(w.spend_id);
    if (s.ok()) spend = std::move(*s);
  }
  Json reason = nullptr;
  if (ctx.spends && w.status == "pending" && now >= w.deadline) {
    auto waiting = ctx.spends->GetStatus().waiting;
    if (auto it = waiting.find(w.id); it != waiting.end()) reason = it->second;
  }
  if (spend && !spend->detail.empty()) reason = spend->detail;
  const std::uint32_t required = ctx.spends ? ctx.spends->options().confirmations : 0;
  Json j = {{"id", w.id},
            {"account_id", w.account_id},
            {"asset", w.asset},
            {"amount", AmountString(w.amount)},
            {"fee", AmountString(w.fee)},
            {"fee_asset", std::string(kGasAsset)},
            {"l1_address", w.l1_address},
            {"status", w.status},
            {"stage", Stage(w, now, spend)},
            {"requested_at", w.requested_at},
            {"deadline", w.deadline},
            {"now", now},
            {"time_remaining", std::max<std::int64_t>(0, w.deadline - now)},
            {"challenge",
             w.challenged_by.empty() ? Json(nullptr) : Json({{"by", w.challenged_by}, {"reason", w.challenge_reason}})},
            {"resolution", w.resolution.empty() ? Json(nullptr) : Json(w.resolution)},
            {"spend_id", w.spend_id.empty() ? Json(nullptr) : Json(w.spend_id)},
            {"reason", reason},
            {"spend", spend ? SpendViewJson(*spend, required) : Json(nullptr)}};
  // Flat fields wallets read directly.
  j["psbt_signers"] = spend && !spend->versions.empty() ? Json(spend->versions.back().signers) : Json::array();
  j["txids"] = spend ? j["spend"]["txids"] : Json::array();
  j["txid"] = spend ? j["spend"]["txid"] : Json(nullptr);
  j["confirmations"] = spend ? spend->confirmations : 0;
  return j;
}

void Request(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  // Open alarms: L2 may hold value L1 no longer backs; no new withdrawals.
  if (ctx.bridge->GetStatus().open_alarms > 0)
    return reply(ErrorResponse(Error::Conflict(
        "withdrawals_frozen", "withdrawals are frozen: a reorg removed a credited deposit (GET /api/bridge/info)")));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const auto& type = *ctx.ledger->registry().FindOperation(bridge::kWithdrawalRequestOp);
  auto request = RequestFromBody(*body, type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  if (request->sig_scheme.empty()) request->sig_scheme = "v1";
  const ApiContext* c = &ctx;
  ctx.ledger->SubmitRequest(
      *request, AnswerLater(std::move(reply), [c](const Result<state::Receipt>& r) -> HttpResponse {
        if (!r.ok()) return ErrorResponse(r.error());
        Json j = ReceiptJson(*r);
        auto id = state::FindField(r->result, "withdrawal_id");
        auto deadline = state::FindField(r->result, "deadline");
        j["withdrawal_id"] = id ? std::stoull(std::string(*id)) : 0;
        j["deadline"] = deadline ? std::stoll(std::string(*deadline)) : 0;
        j["challenge_period_seconds"] = deadline ? std::stoll(std::string(*deadline)) - r->op->timestamp : 0;
        j["withdrawal_status"] = "pending";
        return JsonResponse(j);
      }));
}

void Status_(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto w = LoadWithdrawal(ctx, req);
  if (!w.ok()) return reply(ErrorResponse(w.error()));
  reply(JsonResponse(WithdrawalJson(ctx, *w)));
}

void AccountList(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto id = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto before = QueryU64(req, "before");
  if (!before.ok()) return reply(ErrorResponse(before.error()));
  auto list = ctx.ledger->Read<std::vector<bridge::Withdrawal>>(
      [&](store::Database& db) { return bridge::AccountWithdrawals(db, id->account_id, *limit, *before); });
  if (!list.ok()) return reply(ErrorResponse(list.error()));
  Json arr = Json::array();
  for (const auto& w : *list) arr.push_back(WithdrawalJson(ctx, w));
  Json next = list->size() == static_cast<std::size_t>(*limit) ? Json(list->back().id) : Json(nullptr);
  reply(JsonResponse(
      {{"account_id", id->account_id}, {"count", arr.size()}, {"withdrawals", arr}, {"next_before", next}}));
}

// Operator (Authorization header) or an active validator's signed operation.
void Challenge(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto id = PathId(req);
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  if (body->contains("id")) {
    auto given = FieldText((*body)["id"], "id");
    if (!given.ok() || *given != std::to_string(*id))
      return reply(ErrorResponse(Error::Invalid("invalid_field", "the body's id is not the path's")));
  }
  (*body)["id"] = std::to_string(*id);
  const bool as_operator = !req.authorization.empty();
  if (as_operator) {
    auto auth = CheckOperator(req, ctx);
    if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  }
  const auto* type = ctx.ledger->registry().FindOperation(as_operator ? bridge::kWithdrawalChallengeOp
                                                                      : bridge::kWithdrawalValidatorChallengeOp);
  auto request = RequestFromBody(*body, *type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  if (!as_operator && request->sig_scheme.empty()) request->sig_scheme = "v1";
  ctx.ledger->SubmitRequest(*request,
                            AnswerLater(std::move(reply), [](const Result<state::Receipt>& r) -> HttpResponse {
                              if (!r.ok()) return ErrorResponse(r.error());
                              Json j = ReceiptJson(*r);
                              j["withdrawal_status"] = "challenged";
                              return JsonResponse(j);
                            }));
}

void Resolve(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto id = PathId(req);
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  (*body)["id"] = std::to_string(*id);
  const auto& type = *ctx.ledger->registry().FindOperation(bridge::kWithdrawalResolveOp);
  auto request = RequestFromBody(*body, type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  ctx.ledger->SubmitRequest(*request,
                            AnswerLater(std::move(reply), [](const Result<state::Receipt>& r) -> HttpResponse {
                              if (!r.ok()) return ErrorResponse(r.error());
                              Json j = ReceiptJson(*r);
                              j["withdrawal_status"] = r->op->Field("action") == "refund" ? "refunded" : "pending";
                              return JsonResponse(j);
                            }));
}

// The spend a withdrawal's PSBT belongs to, or why there is none yet.
Result<std::string> SpendOfWithdrawal(const ApiContext& ctx, const HttpRequest& req) {
  auto w = LoadWithdrawal(ctx, req);
  if (!w.ok()) return std::move(w).error();
  if (w->spend_id.empty()) {
    const std::int64_t now = ctx.ledger->Now();
    std::string why = w->status == "pending" && now < w->deadline
                          ? "it is in its challenge period for " + std::to_string(w->deadline - now) + " more seconds"
                          : "it is " + w->status + (w->status == "pending" ? " (due; not batched yet)" : "");
    return Error::Conflict("withdrawal_not_signing", "withdrawal " + std::to_string(w->id) + " has no PSBT: " + why);
  }
  return w->spend_id;
}

void ReplyPsbt(const ApiContext& ctx, const std::string& spend_id, Reply& reply) {
  if (!ctx.spends) return reply(ErrorResponse(BridgeUnavailable()));
  auto v = ctx.spends->GetSpend(spend_id);
  if (!v.ok()) return reply(ErrorResponse(v.error()));
  const auto& latest = v->versions.back();
  reply(JsonResponse({{"spend_id", v->id},
                      {"kind", v->kind},
                      {"version", latest.version},
                      {"txid", latest.txid},
                      {"psbt", v->psbt_base64},
                      {"signers", latest.signers},
                      {"threshold", bridge::kFederationThreshold},
                      {"finalized", latest.finalized}}));
}

void Signatures(const ApiContext& ctx, const std::string& spend_id, const HttpRequest& req, Reply& reply) {
  if (!ctx.spends) return reply(ErrorResponse(BridgeUnavailable()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  auto psbt = RequireString(*body, "psbt");
  if (!psbt.ok()) return reply(ErrorResponse(psbt.error()));
  auto r = ctx.spends->SubmitSignatures(spend_id, *psbt);
  if (!r.ok()) return reply(ErrorResponse(r.error()));
  reply(JsonResponse({{"spend_id", spend_id},
                      {"added", r->added},
                      {"invalid", r->invalid},
                      {"signers", r->signers},
                      {"threshold", bridge::kFederationThreshold},
                      {"broadcast_txid", r->broadcast_txid ? Json(*r->broadcast_txid) : Json(nullptr)},
                      {"rejected", r->rejected.empty() ? Json(nullptr) : Json(r->rejected)}}));
}

void WithdrawalPsbt(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto spend = SpendOfWithdrawal(ctx, req);
  if (!spend.ok()) return reply(ErrorResponse(spend.error()));
  ReplyPsbt(ctx, *spend, reply);
}

void WithdrawalSignatures(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto spend = SpendOfWithdrawal(ctx, req);
  if (!spend.ok()) return reply(ErrorResponse(spend.error()));
  Signatures(ctx, *spend, req, reply);
}

Result<std::string> SpendParam(const HttpRequest& req) {
  std::string id(req.Param("id"));
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  auto h = FromHexFixed<32>(id);
  if (!h) return Error::Invalid("invalid_txid", "a spend id is the 64-hex txid of its first version");
  return id;
}

void SpendGet(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.spends) return reply(ErrorResponse(BridgeUnavailable()));
  auto id = SpendParam(req);
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto l2 =
      ctx.ledger->Read<std::optional<bridge::Spend>>([&](store::Database& db) { return bridge::FindSpend(db, *id); });
  if (!l2.ok()) return reply(ErrorResponse(l2.error()));
  auto local = ctx.spends->GetSpend(*id);
  if (!l2->has_value() && !local.ok()) return reply(ErrorResponse(local.error()));
  Json j = local.ok() ? SpendViewJson(*local, ctx.spends->options().confirmations) : Json({{"id", *id}});
  if (local.ok()) j["psbt"] = local->psbt_base64;
  if (l2->has_value()) {
    const auto& s = **l2;
    auto ws = ctx.ledger->Read<std::vector<bridge::Withdrawal>>(
        [&](store::Database& db) { return bridge::SpendWithdrawals(db, s.id); });
    if (!ws.ok()) return reply(ErrorResponse(ws.error()));
    Json list = Json::array();
    for (const auto& w : *ws)
      list.push_back({{"id", w.id},
                      {"asset", w.asset},
                      {"amount", AmountString(w.amount)},
                      {"l1_address", w.l1_address},
                      {"deadline", w.deadline},
                      {"status", w.status}});
    j["l2"] = {{"status", s.status},
               {"kind", s.kind},
               {"batch", s.kind == "anchor" ? Json(s.batch) : Json(nullptr)},
               {"fee_reserve_sats", AmountString(s.fee_reserve)},
               {"dust_sats", AmountString(s.dust)},
               {"fee_account", s.fee_account},
               {"created_at", s.created_at},
               {"txid", s.txid.empty() ? Json(nullptr) : Json(s.txid)},
               {"height", s.height == 0 ? Json(nullptr) : Json(s.height)},
               {"fee_paid_sats", AmountString(s.fee_paid)}};
    j["withdrawals"] = list;
  }
  j["now"] = ctx.ledger->Now();
  reply(JsonResponse(j));
}

void SpendSignatures(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto id = SpendParam(req);
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  Signatures(ctx, *id, req, reply);
}

void AnchorGet(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.spends) return reply(ErrorResponse(BridgeUnavailable()));
  std::string_view text = req.Param("batch");
  std::int64_t batch = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), batch);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || batch <= 0)
    return reply(ErrorResponse(Error::Invalid("invalid_field", "batch must be a positive integer")));
  const auto a = ctx.spends->AnchorOf(batch);
  reply(JsonResponse({{"batch", batch},
                      {"status", a.status},
                      {"spend_id", a.spend_id.empty() ? Json(nullptr) : Json(a.spend_id)},
                      {"txid", a.txid ? Json(*a.txid) : Json(nullptr)},
                      {"height", a.height ? Json(*a.height) : Json(nullptr)}}));
}

}  // namespace

void RegisterWithdrawalRoutes(Router& router, const ApiContext& ctx) {
  auto bind = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/bridge/withdrawal/request", bind(Request));
  router.Add("GET", "/api/bridge/withdrawal/:id/status", bind(Status_));
  router.Add("GET", "/api/bridge/withdrawals/:account", bind(AccountList));
  router.Add("POST", "/api/bridge/withdrawal/:id/challenge", bind(Challenge));
  router.Add("POST", "/api/bridge/withdrawal/:id/resolve", bind(Resolve));
  router.Add("GET", "/api/bridge/withdrawal/:id/psbt", bind(WithdrawalPsbt));
  router.Add("POST", "/api/bridge/withdrawal/:id/signatures", bind(WithdrawalSignatures));
  router.Add("GET", "/api/bridge/spend/:id", bind(SpendGet));
  router.Add("POST", "/api/bridge/spend/:id/signatures", bind(SpendSignatures));
  router.Add("GET", "/api/bridge/anchor/:batch", bind(AnchorGet));
}

void OverlayAnchor(const ApiContext& ctx, rollup::BatchHeader& batch) {
  if (!ctx.spends) return;
  const auto a = ctx.spends->AnchorOf(batch.number);
  batch.anchor_status = a.status;
  batch.anchor_txid = a.txid;
  batch.anchor_height = a.height;
}

}  // namespace kray::api
