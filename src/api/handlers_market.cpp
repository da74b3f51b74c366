// Marketplace endpoints (see include/kray/api/handlers_market.h). Writes are
// the market module's signed operations, built with the one signing rule
// (RequestFromBody + the ledger's request path); reads call the module's
// read queries (kray/market/reads.h) on a pooled read connection.
#include "kray/api/handlers_market.h"

#include "kray/api/handlers.h"
#include "kray/api/router.h"
#include "kray/market/market.h"
#include "kray/market/reads.h"
#include "kray/state/ledger.h"
#include "op_json.h"

namespace kray::api {
namespace {

constexpr int kMaxLimit = 500;
constexpr int kMaxOffset = 10000;

// --- writes ---------------------------------------------------------------

void SubmitMarketOp(const ApiContext& ctx, const HttpRequest& req, Reply reply, std::string_view op_name) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const state::OperationType* type = ctx.ledger->registry().FindOperation(op_name);
  if (!type) return reply(ErrorResponse(Error::Unavailable("market_disabled", "the market module is not loaded")));
  auto request = RequestFromBody(*body, *type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  ctx.ledger->SubmitRequest(*request, AnswerLater(std::move(reply)));
}

// --- JSON of the module's types ------------------------------------------

Json OptionalTime(std::int64_t t) {
  return t == 0 ? Json(nullptr) : Json(t);
}

void AddItem(Json& j, const market::Item& item, const ChainParams& params, Amount price) {
  j["type"] = market::ItemKindName(item.kind);
  if (item.kind == market::ItemKind::kRune) {
    j["asset"] = item.asset;
    j["amount"] = AmountString(item.amount);
    const AssetInfo* info = FindAsset(params.assets, item.asset);
    j["unit_price_credits"] = market::U128String(market::UnitPrice(price, item.amount, info ? info->decimals : 0));
  } else {
    j["inscription_id"] = item.inscription_id;
  }
}

Json ListingJson(const market::Listing& l, const ChainParams& params, std::int64_t now) {
  Json j = {{"listing_id", l.listing_id},
            {"seller", l.seller},
            {"price_credits", AmountString(l.price)},
            {"price_kray", KrayString(l.price)},
            {"fee_bps", l.fee_bps},
            {"status", l.StatusAt(now)},
            {"created_at", l.created_at},
            {"expires_at", OptionalTime(l.expires_at)},
            {"buyer", l.buyer.empty() ? Json(nullptr) : Json(l.buyer)},
            {"closed_at", OptionalTime(l.closed_at)}};
  AddItem(j, l.item, params, l.price);
  return j;
}

Json OfferJson(const market::Offer& o, const ChainParams& params, std::int64_t now) {
  Json j = {{"offer_id", o.offer_id},
            {"buyer", o.buyer},
            {"price_credits", AmountString(o.price)},
            {"price_kray", KrayString(o.price)},
            {"fee_bps", o.fee_bps},
            {"status", o.StatusAt(now)},
            {"created_at", o.created_at},
            {"expires_at", OptionalTime(o.expires_at)},
            {"seller", o.seller.empty() ? Json(nullptr) : Json(o.seller)},
            {"closed_at", OptionalTime(o.closed_at)}};
  AddItem(j, o.item, params, o.price);
  return j;
}

Json InscriptionJson(const market::Inscription& i) {
  return Json{
      {"inscription_id", i.inscription_id}, {"owner", i.owner},
      {"content_type", i.content_type},     {"origin", i.origin},
      {"escrowed", i.listing_id != 0},      {"listing_id", i.listing_id == 0 ? Json(nullptr) : Json(i.listing_id)}};
}

// --- query parameters ------------------------------------------------------

Result<std::optional<market::ItemKind>> TypeParam(const HttpRequest& req) {
  auto v = req.Query("type");
  if (!v || v->empty()) return std::optional<market::ItemKind>();
  if (*v == "ordinal") return std::optional<market::ItemKind>(market::ItemKind::kInscription);  // the original's name
  auto k = market::ParseItemKind(*v);
  if (!k) return Error::Invalid("invalid_field", "query parameter 'type' must be 'rune' or 'inscription'");
  return std::optional<market::ItemKind>(*k);
}

Result<std::uint64_t> IdParam(const HttpRequest& req, std::string_view name) {
  auto v = ParseAmount(req.Param(name));
  if (!v.ok() || *v == 0 || std::to_string(*v) != req.Param(name))
    return Error::Invalid("invalid_field", std::string(name) + " must be a positive integer");
  return static_cast<std::uint64_t>(*v);
}

struct Page {
  int limit = 50;
  int offset = 0;
  std::uint64_t before = 0;
};
Result<Page> PageParams(const HttpRequest& req) {
  Page p;
  auto limit = QueryInt(req, "limit", 50, 1, kMaxLimit);
  if (!limit.ok()) return std::move(limit).error();
  auto offset = QueryInt(req, "offset", 0, 0, kMaxOffset);
  if (!offset.ok()) return std::move(offset).error();
  auto before = QueryU64(req, "before");
  if (!before.ok()) return std::move(before).error();
  return Page{*limit, *offset, *before};
}

// Runs `read` on a pooled read connection and replies with its JSON.
void ReadReply(const ApiContext& ctx, const Reply& reply, const std::function<Result<Json>(store::Database&)>& read) {
  Json out;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto j = read(db);
    if (!j.ok()) return std::move(j).error();
    out = std::move(*j);
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse(out));
}

Json ListingsPage(const std::vector<market::Listing>& ls, const ChainParams& params, std::int64_t now, const Page& page,
                  bool cursor) {
  Json arr = Json::array();
  for (const auto& l : ls) arr.push_back(ListingJson(l, params, now));
  bool full = static_cast<int>(ls.size()) == page.limit;
  return Json{{"listings", std::move(arr)},
              {"count", ls.size()},
              {"limit", page.limit},
              {"offset", page.offset},
              {"next_before", cursor && full ? Json(ls.back().listing_id) : Json(nullptr)}};
}

Json OffersPage(const std::vector<market::Offer>& os, const ChainParams& params, std::int64_t now, const Page& page) {
  Json arr = Json::array();
  for (const auto& o : os) arr.push_back(OfferJson(o, params, now));
  bool full = static_cast<int>(os.size()) == page.limit;
  return Json{{"offers", std::move(arr)},
              {"count", os.size()},
              {"limit", page.limit},
              {"offset", page.offset},
              {"next_before", full ? Json(os.back().offer_id) : Json(nullptr)}};
}

// --- reads -----------------------------------------------------------------

void Listings(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto page = PageParams(req);
  if (!page.ok()) return reply(ErrorResponse(page.error()));
  auto kind = TypeParam(req);
  if (!kind.ok()) return reply(ErrorResponse(kind.error()));
  market::ListingQuery q;
  q.kind = *kind;
  q.asset = std::string(req.Query("asset").value_or(""));
  auto sort = req.Query("sort").value_or("newest");
  if (sort != "newest" && sort != "price")
    return reply(ErrorResponse(Error::Invalid("invalid_field", "query parameter 'sort' must be 'newest' or 'price'")));
  q.order = sort == "price" ? market::ListingOrder::kPrice : market::ListingOrder::kNewest;
  if (q.order == market::ListingOrder::kPrice && page->before != 0)
    return reply(ErrorResponse(Error::Invalid("invalid_field", "'before' pages the newest-first order only")));
  q.before = page->before;
  q.limit = page->limit;
  q.offset = page->offset;
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto ls = market::ListListings(db, q, now);
    if (!ls.ok()) return std::move(ls).error();
    return ListingsPage(*ls, ctx.ledger->params(), now, *page, q.order == market::ListingOrder::kNewest);
  });
}

void OneListing(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto id = IdParam(req, "id");
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto l = market::FindListing(db, *id);
    if (!l.ok()) return std::move(l).error();
    if (!l->has_value()) return Error::NotFound("listing_not_found", "no listing " + std::to_string(*id));
    return ListingJson(**l, ctx.ledger->params(), now);
  });
}

void Offers(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto page = PageParams(req);
  if (!page.ok()) return reply(ErrorResponse(page.error()));
  auto kind = TypeParam(req);
  if (!kind.ok()) return reply(ErrorResponse(kind.error()));
  market::OfferQuery q;
  q.kind = *kind;
  q.asset = std::string(req.Query("asset").value_or(""));
  q.inscription_id = std::string(req.Query("inscription_id").value_or(""));
  q.before = page->before;
  q.limit = page->limit;
  q.offset = page->offset;
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto os = market::ListOffers(db, q, now);
    if (!os.ok()) return std::move(os).error();
    return OffersPage(*os, ctx.ledger->params(), now, *page);
  });
}

void OneOffer(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto id = IdParam(req, "id");
  if (!id.ok()) return reply(ErrorResponse(id.error()));
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto o = market::FindOffer(db, *id);
    if (!o.ok()) return std::move(o).error();
    if (!o->has_value()) return Error::NotFound("offer_not_found", "no offer " + std::to_string(*id));
    return OfferJson(**o, ctx.ledger->params(), now);
  });
}

void OneInscription(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  std::string id(req.Param("id"));
  if (!market::IsInscriptionId(id))
    return reply(ErrorResponse(Error::Invalid("invalid_inscription_id", "inscription id must be <txid>i<index>")));
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto i = market::FindInscription(db, id);
    if (!i.ok()) return std::move(i).error();
    if (!i->has_value()) return Error::NotFound("inscription_not_found", "no inscription " + id + " on L2");
    return InscriptionJson(**i);
  });
}

void UserListings(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto who = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!who.ok()) return reply(ErrorResponse(who.error()));
  auto page = PageParams(req);
  if (!page.ok()) return reply(ErrorResponse(page.error()));
  auto status = market::ParseListingStatusFilter(req.Query("status").value_or("all"));
  if (!status)
    return reply(ErrorResponse(
        Error::Invalid("invalid_field", "query parameter 'status' must be active, expired, sold, cancelled or all")));
  market::ListingQuery q;
  q.seller = who->account_id;
  q.status = *status;
  q.before = page->before;
  q.limit = page->limit;
  q.offset = page->offset;
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto ls = market::ListListings(db, q, now);
    if (!ls.ok()) return std::move(ls).error();
    Json j = ListingsPage(*ls, ctx.ledger->params(), now, *page, true);
    j["account_id"] = who->account_id;
    return j;
  });
}

void UserOffers(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto who = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!who.ok()) return reply(ErrorResponse(who.error()));
  auto page = PageParams(req);
  if (!page.ok()) return reply(ErrorResponse(page.error()));
  auto status = market::ParseOfferStatusFilter(req.Query("status").value_or("all"));
  if (!status)
    return reply(ErrorResponse(Error::Invalid(
        "invalid_field", "query parameter 'status' must be active, expired, accepted, cancelled or all")));
  auto role = req.Query("role").value_or("made");
  if (role != "made" && role != "received")
    return reply(ErrorResponse(Error::Invalid("invalid_field", "query parameter 'role' must be made or received")));
  market::OfferQuery q;
  (role == "made" ? q.buyer : q.owner) = who->account_id;
  q.status = *status;
  q.before = page->before;
  q.limit = page->limit;
  q.offset = page->offset;
  std::int64_t now = ctx.ledger->Now();
  std::string r(role);
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto os = market::ListOffers(db, q, now);
    if (!os.ok()) return std::move(os).error();
    Json j = OffersPage(*os, ctx.ledger->params(), now, *page);
    j["account_id"] = who->account_id;
    j["role"] = r;
    return j;
  });
}

void UserInscriptions(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto who = ctx.ledger->ResolveAccount(req.Param("account"));
  if (!who.ok()) return reply(ErrorResponse(who.error()));
  auto limit = QueryInt(req, "limit", 100, 1, kMaxLimit);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  std::string after(req.Query("after").value_or(""));
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto is = market::InscriptionsOf(db, who->account_id, after, *limit);
    if (!is.ok()) return std::move(is).error();
    Json arr = Json::array();
    for (const auto& i : *is) arr.push_back(InscriptionJson(i));
    bool full = static_cast<int>(is->size()) == *limit;
    return Json{{"account_id", who->account_id},
                {"inscriptions", std::move(arr)},
                {"count", is->size()},
                {"limit", *limit},
                {"next_after", full ? Json(is->back().inscription_id) : Json(nullptr)}};
  });
}

void Stats(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  std::int64_t now = ctx.ledger->Now();
  ReadReply(ctx, reply, [&](store::Database& db) -> Result<Json> {
    auto s = market::GetMarketStats(db, now);
    if (!s.ok()) return std::move(s).error();
    Json volume = Json::object();
    u128 total = 0;
    for (const char* kind : {"rune", "inscription"}) volume[kind] = {{"trades", 0}, {"volume_credits", "0"}};
    for (const auto& v : s->volume) {
      volume[v.kind] = {{"trades", v.trades}, {"volume_credits", market::U128String(v.volume)}};
      total += v.volume;
    }
    volume["total_credits"] = market::U128String(total);
    Json runes = Json::object();
    for (const auto& f : s->rune_floors) {
      const AssetInfo* info = FindAsset(ctx.ledger->params().assets, f.asset);
      runes[f.asset] = {
          {"listing_id", f.listing_id},
          {"price_credits", AmountString(f.price)},
          {"amount", AmountString(f.amount)},
          {"unit_price_credits", market::U128String(market::UnitPrice(f.price, f.amount, info ? info->decimals : 0))}};
    }
    Json inscriptions = nullptr;
    if (s->inscription_floor)
      inscriptions = {{"listing_id", s->inscription_floor->listing_id},
                      {"price_credits", AmountString(s->inscription_floor->price)}};
    std::uint64_t active = 0;
    for (const auto& [kind, by_status] : s->listings) active += by_status.at("active");
    return Json{{"listings", s->listings},
                {"offers", s->offers},
                {"active_listings", active},
                {"volume", std::move(volume)},
                {"floor", {{"runes", std::move(runes)}, {"inscriptions", std::move(inscriptions)}}},
                {"fee_bps", s->config.fee_bps},
                {"fee_account", s->config.fee_account.empty() ? Json(nullptr) : Json(s->config.fee_account)}};
  });
}

}  // namespace

void RegisterMarketRoutes(Router& router, const ApiContext& ctx) {
  auto write = [&ctx](std::string_view op) {
    return [&ctx, op](const HttpRequest& req, Reply reply) { SubmitMarketOp(ctx, req, std::move(reply), op); };
  };
  router.Add("POST", "/api/marketplace/list", write(market::kListOp));
  router.Add("POST", "/api/marketplace/buy", write(market::kBuyOp));
  router.Add("POST", "/api/marketplace/cancel", write(market::kCancelOp));
  router.Add("POST", "/api/marketplace/sweep", write(market::kSweepOp));
  router.Add("POST", "/api/marketplace/offer", write(market::kOfferOp));
  router.Add("POST", "/api/marketplace/offer/accept", write(market::kOfferAcceptOp));
  router.Add("POST", "/api/marketplace/offer/cancel", write(market::kOfferCancelOp));
  router.Add("POST", "/api/marketplace/inscription/transfer", write(market::kInscriptionTransferOp));

  auto read = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("GET", "/api/marketplace/listings", read(Listings));
  router.Add("GET", "/api/marketplace/listing/:id", read(OneListing));
  router.Add("GET", "/api/marketplace/offers", read(Offers));
  router.Add("GET", "/api/marketplace/offer/:id", read(OneOffer));
  router.Add("GET", "/api/marketplace/inscription/:id", read(OneInscription));
  router.Add("GET", "/api/marketplace/user/:account/listings", read(UserListings));
  router.Add("GET", "/api/marketplace/user/:account/offers", read(UserOffers));
  router.Add("GET", "/api/marketplace/user/:account/inscriptions", read(UserInscriptions));
  router.Add("GET", "/api/marketplace/stats", read(Stats));
}

}  // namespace kray::api
