// Bridge endpoints (see include/kray/api/handlers_bridge.h). Thin: parse,
// one write through the Ledger (address assignment, claims) or reads of the
// bridge module's replayed tables and of the scanner's store, JSON out.
#include "kray/api/handlers_bridge.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "kray/api/handlers.h"
#include "kray/api/router.h"
#include "kray/bridge/deposits.h"
#include "kray/bridge/scanner.h"
#include "kray/bridge/spends.h"
#include "kray/bridge/withdrawals.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "module_routes.h"
#include "op_json.h"

namespace kray::api {
namespace {

constexpr const char* kNoInscriptions =
    "inscriptions are accepted only with an ord server, and this node has none (ordurl is not supported yet)";

Json AssetsJson(const ChainParams& params, std::string_view text) {
  Json j = Json::object();
  if (text.empty()) return j;
  auto assets = bridge::ParseAssets(params, text);
  if (!assets.ok()) return j;
  for (const auto& a : *assets) j[a.asset] = AmountString(a.amount);
  return j;
}

Json ErrorJson(const std::optional<Error>& e) {
  if (!e) return nullptr;
  return {{"code", e->code}, {"message", e->message}};
}

std::optional<std::uint32_t> Confirmations(const bridge::ScannerStatus& s, std::uint32_t height) {
  if (!s.scan_height || *s.scan_height < height) return std::nullopt;
  return *s.scan_height - height + 1;
}

// Operations that changed the deposit's leaf, oldest first.
Json DepositOperations(const ApiContext& ctx, const std::string& txid, std::uint32_t vout) {
  auto ops = ctx.ledger->Read<std::vector<state::Operation>>([&](store::Database& db) {
    return state::OperationsTouching(db, state::LeafKey(bridge::kBridgeDepositLeaf, bridge::OutpointId(txid, vout)), 0,
                                     10);
  });
  Json arr = Json::array();
  if (!ops.ok()) return arr;
  for (auto it = ops->rbegin(); it != ops->rend(); ++it)
    arr.push_back({{"tx_hash", it->hash}, {"type", it->type}, {"seq", it->seq}, {"timestamp", it->timestamp}});
  return arr;
}

// One deposit: what krayd.sqlite recorded (credited, unattributed, claimed)
// over what the scanner sees (confirmations, orphaned, not yet acted on).
Json DepositJson(const ApiContext& ctx, const bridge::ScannerStatus& s, const std::optional<bridge::DepositRecord>& rec,
                 const std::optional<bridge::ObservedDeposit>& obs) {
  const ChainParams& params = ctx.ledger->params();
  Json j;
  j["txid"] = rec ? rec->txid : obs->txid;
  j["vout"] = rec ? rec->vout : obs->vout;
  j["required"] = obs ? obs->required : ctx.bridge->options().confirmations;
  j["address_index"] = rec ? rec->address_index : obs->address_index;
  const std::uint32_t height = obs ? obs->height : rec->height;
  j["height"] = height;
  j["block_hash"] = obs ? obs->block_hash : rec->block_hash;
  auto conf = Confirmations(s, height);
  j["confirmations"] = conf ? Json(*conf) : Json(0);
  j["assets"] = AssetsJson(params, rec ? rec->assets : obs->assets);
  if (obs) {
    j["sats"] = std::to_string(obs->sats);
    j["runes"] = obs->runes;
  }
  j["account_id"] = rec && !rec->account_id.empty() ? Json(rec->account_id) : Json(nullptr);
  j["detail"] = "";
  if (rec) {
    j["status"] = rec->status;
    if (rec->status == "unattributed") j["detail"] = rec->reason;
    if (obs && obs->status == "orphaned") {
      j["status"] = "orphaned";
      j["detail"] = obs->detail;
    }
  } else {
    j["status"] = obs->status;
    j["detail"] = obs->detail;
    // Not acted on yet: the account it will be credited to, if its address
    // index is assigned by then (index 0 and unassigned ones are held).
    if (obs->address_index != 0) {
      auto owner = ctx.ledger->Read<std::optional<std::string>>(
          [&](store::Database& db) { return bridge::AccountOfIndex(db, obs->address_index); });
      if (owner.ok() && *owner) j["account_id"] = **owner;
    }
  }
  return j;
}

Result<std::pair<std::string, std::uint32_t>> ParseOutpoint(const HttpRequest& req) {
  std::string txid(req.Param("txid"));
  std::transform(txid.begin(), txid.end(), txid.begin(), [](unsigned char c) { return std::tolower(c); });
  auto h = FromHexFixed<32>(txid);
  if (!h) return Error::Invalid("invalid_txid", "txid must be 64 hex characters");
  auto vout_text = req.Param("vout");
  auto vout = ParseAmount(vout_text);
  if (!vout.ok() || *vout > 0xffffffffULL || std::to_string(*vout) != vout_text)
    return Error::Invalid("invalid_field", "vout must be a decimal output index");
  return std::make_pair(txid, static_cast<std::uint32_t>(*vout));
}

void Initiate(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  std::string who;
  for (const char* key : {"l1_address", "account_id", "account"}) {
    auto v = OptionalString(*body, key, "");
    if (!v.ok()) return reply(ErrorResponse(v.error()));
    if (!v->empty() && who.empty()) who = *v;
  }
  if (who.empty()) return reply(ErrorResponse(Error::Invalid("missing_field", "missing field 'l1_address'")));
  state::OperationRequest r;
  r.type = std::string(bridge::kAddressAssignOp);
  r.auth = state::Auth::kPublic;
  r.fields = {{"account", who}};
  if (auto limited = ChargePublicOperation(ctx, req, r.auth)) return reply(std::move(*limited));
  const ApiContext* c = &ctx;
  ctx.ledger->SubmitRequest(
      r, AnswerLater(std::move(reply), [c](const Result<state::Receipt>& receipt) -> HttpResponse {
        if (!receipt.ok()) return ErrorResponse(receipt.error());
        auto index_text = state::FindField(receipt->result, "address_index");
        auto index = index_text ? ParseAmount(*index_text) : Result<Amount>(Error::Internal("no address_index"));
        if (!index.ok()) return ErrorResponse(Error::Internal("bridge_address_assign returned no index"));
        const auto& federation = c->bridge->federation();
        auto address = federation.Address(static_cast<std::uint32_t>(*index));
        if (!address.ok()) return ErrorResponse(address.error());
        const std::string account(receipt->op->Field("account").value_or(""));
        auto acct = c->ledger->GetAccount(account);
        const auto& opts = c->bridge->options();
        Json runes = Json::array();
        for (const auto& rune : opts.runes) runes.push_back(rune.asset + " (" + bitcoin::RuneIdToString(rune.id) + ")");
        Json j = {{"account_id", account},
                  {"l1_address", acct.ok() ? Json(acct->l1_address) : Json(nullptr)},
                  {"deposit_address", *address},
                  {"address_index", *index},
                  {"network", NetworkName(c->ledger->params().network)},
                  {"confirmations_required", opts.confirmations},
                  {"minimum_deposit_sats", std::to_string(opts.min_deposit_sats)},
                  {"accepted_runes", runes},
                  {"descriptor", federation.Descriptor()},
                  {"instructions", "Send BTC (at least " + std::to_string(opts.min_deposit_sats) +
                                       " sats) or accepted runes to deposit_address. The deposit is credited to " +
                                       account + " after " + std::to_string(opts.confirmations) +
                                       " confirmations; follow it with GET /api/bridge/deposit/<txid>/<vout>/status."}};
        if (!receipt->no_change) j["tx_hash"] = receipt->op->hash;
        return JsonResponse(j);
      }));
}

void DepositStatus(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto outpoint = ParseOutpoint(req);
  if (!outpoint.ok()) return reply(ErrorResponse(outpoint.error()));
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
  const auto& txid = outpoint->first;
  const auto vout = outpoint->second;
  auto rec = ctx.ledger->Read<std::optional<bridge::DepositRecord>>(
      [&](store::Database& db) { return bridge::FindDepositRecord(db, txid, vout); });
  if (!rec.ok()) return reply(ErrorResponse(rec.error()));
  auto obs = ctx.bridge->FindObserved(txid, vout);
  if (!obs.ok()) return reply(ErrorResponse(obs.error()));
  if (!*rec && !*obs)
    return reply(ErrorResponse(Error::NotFound(
        "deposit_not_found", "no deposit " + bridge::OutpointId(txid, vout) + " to a bridge address is known")));
  const auto s = ctx.bridge->GetStatus();
  Json j = DepositJson(ctx, s, *rec, *obs);
  Json ops = DepositOperations(ctx, txid, vout);
  j["operations"] = ops;
  j["credited_operation"] = nullptr;
  for (const auto& op : ops)
    if (op["type"] == bridge::kDepositCreditOp || op["type"] == bridge::kDepositClaimOp)
      j["credited_operation"] = op["tx_hash"];
  reply(JsonResponse(j));
}

void AccountDeposits(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto id = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto index = ctx.ledger->Read<std::optional<std::uint32_t>>(
      [&](store::Database& db) { return bridge::AddressIndexOf(db, id->account_id); });
  if (!index.ok()) return reply(ErrorResponse(index.error()));
  auto recs = ctx.ledger->Read<std::vector<bridge::DepositRecord>>(
      [&](store::Database& db) { return bridge::AccountDepositRecords(db, id->account_id, *limit); });
  if (!recs.ok()) return reply(ErrorResponse(recs.error()));
  std::vector<bridge::ObservedDeposit> observed;
  if (*index) {
    auto o = ctx.bridge->ObservedAtIndex(**index, *limit);
    if (!o.ok()) return reply(ErrorResponse(o.error()));
    observed = std::move(*o);
  }
  const auto s = ctx.bridge->GetStatus();
  // Keyed by outpoint: the record (what was credited) over the observation.
  std::map<std::pair<std::string, std::uint32_t>,
           std::pair<std::optional<bridge::DepositRecord>, std::optional<bridge::ObservedDeposit>>>
      all;
  for (auto& r : *recs) all[{r.txid, r.vout}].first = r;
  for (auto& o : observed) {
    // A deposit to the account's address recorded as unattributed (paid
    // before the index was assigned) is not the account's.
    if (o.status == "unattributed") continue;
    all[{o.txid, o.vout}].second = o;
  }
  std::vector<Json> list;
  for (auto& entry : all) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const auto& key = entry.first;
    auto& v = entry.second;
    if (!v.first && v.second && v.second->status == "credited") {
      // Credited to the index's owner: fetch the record (beyond `limit`).
      auto r = ctx.ledger->Read<std::optional<bridge::DepositRecord>>(
          [&](store::Database& db) { return bridge::FindDepositRecord(db, key.first, key.second); });
      if (r.ok() && *r) v.first = **r;
    }
    list.push_back(DepositJson(ctx, s, v.first, v.second));
  }
  std::sort(list.begin(), list.end(), [](const Json& a, const Json& b) {
    return a["height"].get<std::uint32_t>() > b["height"].get<std::uint32_t>();
  });
  if (list.size() > static_cast<std::size_t>(*limit)) list.resize(static_cast<std::size_t>(*limit));
  Json deposit_address = nullptr;
  if (*index) {
    auto a = ctx.bridge->federation().Address(**index);
    if (a.ok()) deposit_address = *a;
  }
  reply(JsonResponse({{"account_id", id->account_id},
                      {"deposit_address", deposit_address},
                      {"address_index", *index ? Json(**index) : Json(nullptr)},
                      {"count", list.size()},
                      {"deposits", list}}));
}

void Unattributed(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto recs = ctx.ledger->Read<std::vector<bridge::DepositRecord>>(
      [&](store::Database& db) { return bridge::UnattributedDepositRecords(db, *limit); });
  if (!recs.ok()) return reply(ErrorResponse(recs.error()));
  const auto s = ctx.bridge->GetStatus();
  Json arr = Json::array();
  for (const auto& r : *recs) {
    Json j = DepositJson(ctx, s, r, std::nullopt);
    Json funding = Json::array();
    std::size_t start = 0;
    while (true) {
      std::size_t comma = r.funding.find(',', start);
      funding.push_back(r.funding.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    j["funding_scripts"] = funding;
    arr.push_back(std::move(j));
  }
  reply(JsonResponse({{"count", arr.size()}, {"deposits", arr}}));
}

void Claim(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const auto& type = *ctx.ledger->registry().FindOperation(bridge::kDepositClaimOp);
  auto request = RequestFromBody(*body, type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  if (request->sig_scheme.empty()) request->sig_scheme = "v1";
  if (!request->nonce) request->nonce = 0;
  ctx.ledger->SubmitRequest(*request, AnswerLater(std::move(reply)));
}

void Info(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  const auto& fed = ctx.bridge->federation();
  const auto& opts = ctx.bridge->options();
  const auto s = ctx.bridge->GetStatus();
  const ChainParams& params = ctx.ledger->params();
  auto alarms = ctx.bridge->Alarms();
  if (!alarms.ok()) return reply(ErrorResponse(alarms.error()));
  auto totals =
      ctx.ledger->Read<std::map<std::string, Amount>>([](store::Database& db) { return bridge::DepositedTotals(db); });
  if (!totals.ok()) return reply(ErrorResponse(totals.error()));
  auto assigned = ctx.ledger->Read<std::uint32_t>([](store::Database& db) { return bridge::MaxAddressIndex(db); });
  if (!assigned.ok()) return reply(ErrorResponse(assigned.error()));
  Json alarm_list = Json::array();
  for (const auto& a : *alarms) {
    alarm_list.push_back({{"id", a.id},
                          {"txid", a.txid},
                          {"vout", a.vout},
                          {"block_hash", a.block_hash},
                          {"height", a.height},
                          {"operation", a.operation},
                          {"detected_at", a.detected_at},
                          {"status", a.status},
                          {"note", a.note}});
  }
  Json runes = Json::array();
  for (const auto& r : opts.runes) {
    runes.push_back({{"asset", r.asset},
                     {"rune_id", bitcoin::RuneIdToString(r.id)},
                     {"name", r.name ? Json(bitcoin::RuneName(*r.name)) : Json(nullptr)},
                     {"verified_by", "krayd's runes index (ord's rules)"}});
  }
  Json credited = Json::object();
  for (const auto& [asset, amount] : *totals) credited[asset] = AmountString(amount);
  auto index0 = fed.Address(0);
  const bool frozen = s.open_alarms > 0;
  auto config =
      ctx.ledger->Read<bridge::BridgeConfig>([](store::Database& db) { return bridge::ReadBridgeConfig(db); });
  if (!config.ok()) return reply(ErrorResponse(config.error()));
  auto holdings = ctx.bridge->Holdings();
  if (!holdings.ok()) return reply(ErrorResponse(holdings.error()));
  const bool available = ctx.spends && !config->fee_account.empty() && !frozen;
  std::string withdrawal_reason = "withdrawals are open";
  if (frozen)
    withdrawal_reason = "a reorg removed a credited deposit: see alarms";
  else if (config->fee_account.empty())
    withdrawal_reason = "the genesis names no bridge fee account (section \"bridge\": fee_account)";
  Json j = {
      {"network", NetworkName(params.network)},
      {"descriptor", fed.Descriptor()},
      {"multisig", "2-of-3 taproot script path (NUMS internal key)"},
      {"threshold", bridge::kFederationThreshold},
      {"members", bridge::kFederationSize},
      {"xpubs", fed.xpubs()},
      {"this_member", ctx.bridge_member == 0 ? Json(nullptr) : Json(ctx.bridge_member)},
      {"bridge_address", index0.ok() ? Json(*index0) : Json(nullptr)},
      {"confirmations", opts.confirmations},
      {"challenge_period_seconds", config->challenge_period},
      {"minimum_deposit_sats", std::to_string(opts.min_deposit_sats)},
      {"runes", runes},
      {"inscriptions", {{"accepted", false}, {"reason", kNoInscriptions}}},
      {"assigned_addresses", *assigned},
      {"watched_indexes", s.watched_indexes},
      {"withdrawals",
       {{"available", available},
        {"frozen", frozen},
        {"reason", withdrawal_reason},
        {"fee_account", config->fee_account.empty() ? Json(nullptr) : Json(config->fee_account)},
        {"assets", config->withdrawal_assets},
        {"fee_credits", AmountString(GasFor(TxType::kWithdrawal))},
        {"confirmations", ctx.spends ? Json(ctx.spends->options().confirmations) : Json(nullptr)},
        {"waiting", ctx.spends ? Json(ctx.spends->GetStatus().waiting.size()) : Json(0)},
        {"last_error", ctx.spends ? ErrorJson(ctx.spends->GetStatus().last_error) : Json(nullptr)}}},
      {"anchors", {{"enabled", ctx.spends && ctx.spends->options().anchors && !config->fee_account.empty()}}},
      {"holdings",
       {{"outputs", holdings->outputs}, {"sats", std::to_string(holdings->sats)}, {"reserved", holdings->reserved}}},
      {"deposits_credited", credited},
      {"open_alarms", s.open_alarms},
      {"alarms", alarm_list},
      {"scanner",
       {{"height", s.scan_height ? Json(*s.scan_height) : Json(nullptr)},
        {"block_hash", s.scan_hash},
        {"first_height", s.first_height},
        {"start_height", opts.start_height},
        {"catching_up", s.catching_up},
        {"blocks_per_second", s.blocks_per_second},
        {"eta_seconds", s.eta_seconds ? Json(*s.eta_seconds) : Json(nullptr)},
        {"last_poll", s.last_poll},
        {"failed", ErrorJson(s.failed)}}},
      {"l1",
       {{"reachable", s.l1_reachable},
        {"chain", s.l1_chain},
        {"height", s.l1_height ? Json(*s.l1_height) : Json(nullptr)},
        {"best_block_hash", s.l1_best_hash},
        {"error",
         s.l1_error_code.empty() ? Json(nullptr) : Json({{"code", s.l1_error_code}, {"message", s.l1_error}})}}},
  };
  reply(JsonResponse(j));
}

void ResolveAlarm(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto auth = CheckOperator(req, ctx);
  if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  if (!ctx.bridge) return reply(ErrorResponse(BridgeUnavailable()));
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  auto id = RequireU64(*body, "id");
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  auto note = RequireString(*body, "note");
  if (!note.ok()) return reply(ErrorResponse(note.error()));
  if (note->empty() || note->size() > 1024)
    return reply(ErrorResponse(Error::Invalid("invalid_field", "note must be 1..1024 bytes")));
  Status s = ctx.bridge->ResolveAlarm(static_cast<std::int64_t>(*id), *note);
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse({{"id", *id}, {"status", "resolved"}, {"open_alarms", ctx.bridge->GetStatus().open_alarms}}));
}

}  // namespace

Json BridgeHealthJson(const ApiContext& ctx) {
  if (!ctx.bridge) return {{"configured", false}, {"reachable", false}};
  const auto s = ctx.bridge->GetStatus();
  return {
      {"configured", true},
      {"reachable", s.l1_reachable},
      {"chain", s.l1_chain},
      {"tip", s.l1_height ? Json(*s.l1_height) : Json(nullptr)},
      {"scanner_height", s.scan_height ? Json(*s.scan_height) : Json(nullptr)},
      {"catching_up", s.catching_up},
      {"open_alarms", s.open_alarms},
      {"scanner_failed", ErrorJson(s.failed)},
      {"error", s.l1_error_code.empty() ? Json(nullptr) : Json({{"code", s.l1_error_code}, {"message", s.l1_error}})}};
}

void RegisterBridgeRoutes(Router& router, const ApiContext& ctx) {
  auto bind = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/bridge/deposit/initiate", bind(Initiate));
  router.Add("POST", "/api/bridge/deposit/claim", bind(Claim));
  router.Add("GET", "/api/bridge/deposit/:txid/:vout/status", bind(DepositStatus));
  router.Add("GET", "/api/bridge/deposits/:account", bind(AccountDeposits));
  router.Add("GET", "/api/bridge/unattributed", bind(Unattributed));
  router.Add("GET", "/api/bridge/info", bind(Info));
  router.Add("POST", "/api/bridge/alarms/resolve", bind(ResolveAlarm));
  RegisterWithdrawalRoutes(router, ctx);
}

}  // namespace kray::api
