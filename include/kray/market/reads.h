// Read queries of the marketplace for the API (docs/API.md, "Marketplace").
// Each takes a read connection (state::Ledger::WithReader) and returns typed
// rows; errors are store errors only (kind internal). `now` decides which
// active listings and offers are reported as expired.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/result.h"
#include "kray/market/types.h"

namespace kray::store {
class Database;
}

namespace kray::market {

// Status filter of the reads: a stored status, "expired" (active but past
// expires_at) or every status.
enum class StatusFilter { kActive, kExpired, kCompleted, kCancelled, kAll };
// "active" | "expired" | "sold" (listings) / "accepted" (offers): kCompleted |
// "cancelled" | "all"; nullopt for anything else.
std::optional<StatusFilter> ParseListingStatusFilter(std::string_view s);
std::optional<StatusFilter> ParseOfferStatusFilter(std::string_view s);

enum class ListingOrder { kNewest, kPrice };

struct ListingQuery {
  std::optional<ItemKind> kind;
  std::string asset;   // "" = any
  std::string seller;  // "" = any
  StatusFilter status = StatusFilter::kActive;
  ListingOrder order = ListingOrder::kNewest;
  std::uint64_t before = 0;  // kNewest: listing_id < before (0 = no bound)
  int limit = 50;
  int offset = 0;
};
Result<std::vector<Listing>> ListListings(store::Database& db, const ListingQuery& q, std::int64_t now);
Result<std::optional<Listing>> FindListing(store::Database& db, std::uint64_t listing_id);

struct OfferQuery {
  std::optional<ItemKind> kind;
  std::string asset;           // "" = any
  std::string inscription_id;  // "" = any
  std::string buyer;           // "" = any (offers made by this account)
  std::string owner;           // "" = any (inscription offers on items this account owns)
  StatusFilter status = StatusFilter::kActive;
  std::uint64_t before = 0;  // offer_id < before (0 = no bound); newest first
  int limit = 50;
  int offset = 0;
};
Result<std::vector<Offer>> ListOffers(store::Database& db, const OfferQuery& q, std::int64_t now);
Result<std::optional<Offer>> FindOffer(store::Database& db, std::uint64_t offer_id);

Result<std::optional<Inscription>> FindInscription(store::Database& db, std::string_view inscription_id);
// Inscriptions owned by `owner`, by id, after `after` ("" = from the start).
Result<std::vector<Inscription>> InscriptionsOf(store::Database& db, std::string_view owner, std::string_view after,
                                                int limit);
Result<MarketConfig> LoadConfig(store::Database& db);

struct Floor {
  std::string asset;  // "" for inscriptions
  std::uint64_t listing_id = 0;
  Amount price = 0;
  Amount amount = 0;  // rune floors: the listing's amount
};
struct MarketStats {
  // Counts by kind ("rune", "inscription") and status at `now`: listings
  // "active", "expired", "sold", "cancelled"; offers "active", "expired",
  // "accepted", "cancelled". Every kind and status is present (0 if none).
  std::map<std::string, std::map<std::string, std::uint64_t>> listings, offers;
  // Traded volume per kind (sold listings and accepted offers): trades and
  // the sum of prices (128 bits: a volume may exceed 2^63-1).
  struct Volume {
    std::string kind;
    std::uint64_t trades = 0;
    u128 volume = 0;
  };
  std::vector<Volume> volume;
  // The cheapest active listing per rune asset (per unit, CheaperPerUnit)
  // and of all inscriptions (by price), when there is one.
  std::vector<Floor> rune_floors;
  std::optional<Floor> inscription_floor;
  MarketConfig config;
};
Result<MarketStats> GetMarketStats(store::Database& db, std::int64_t now);

}  // namespace kray::market
