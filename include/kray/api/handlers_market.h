// Marketplace endpoints (docs/API.md, "Marketplace"; docs/MARKET.md).
// Writes (signed operations of the market module, one signing rule):
//   POST /api/marketplace/list                  market_list          (seller_account)
//   POST /api/marketplace/buy                   market_buy           (buyer_account)
//   POST /api/marketplace/cancel                market_cancel        (seller_account)
//   POST /api/marketplace/sweep                 market_sweep         (buyer_account)
//   POST /api/marketplace/offer                 market_offer         (buyer_account)
//   POST /api/marketplace/offer/accept          market_offer_accept  (seller_account)
//   POST /api/marketplace/offer/cancel          market_offer_cancel  (buyer_account)
//   POST /api/marketplace/inscription/transfer  inscription_transfer (from_account)
// Reads:
//   GET /api/marketplace/listings?type=&asset=&sort=newest|price&limit=&offset=&before=   (active only)
//   GET /api/marketplace/listing/:id
//   GET /api/marketplace/offers?type=&asset=&inscription_id=&limit=&offset=&before=       (active only)
//   GET /api/marketplace/offer/:id
//   GET /api/marketplace/inscription/:id
//   GET /api/marketplace/user/:account/listings?status=&limit=&offset=&before=
//   GET /api/marketplace/user/:account/offers?status=&role=made|received&limit=&offset=&before=
//   GET /api/marketplace/user/:account/inscriptions?limit=&after=
//   GET /api/marketplace/stats
#pragma once

namespace kray::api {

class Router;
struct ApiContext;

void RegisterMarketRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
