// Internal: the marketplace's tables (schema/market) — row mapping, writes,
// and the committed leaf encodings (docs/ROLLUP.md, "Leaves"). Used by the
// operations (on the unit's connection, ctx.Sql()), the leaf encoders, the
// audit and the reads. Not thread-safe (one connection per caller).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/market/types.h"
#include "kray/store/database.h"

namespace kray::market::internal {

// The SELECT column lists that ReadListing / ReadOffer map.
inline constexpr const char* kListingColumns =
    "listing_id, seller, kind, asset, amount, inscription_id, price, fee_bps, created_at, expires_at, status, buyer, "
    "closed_at";
inline constexpr const char* kOfferColumns =
    "offer_id, buyer, kind, asset, amount, inscription_id, price, fee_bps, created_at, expires_at, status, seller, "
    "closed_at";
inline constexpr const char* kInscriptionColumns = "inscription_id, owner, content_type, origin, listing_id";

Listing ReadListing(const store::Statement& s);
Offer ReadOffer(const store::Statement& s);
Inscription ReadInscription(const store::Statement& s);

std::string_view ListingStatusName(ListingStatus s);  // stored: active | sold | cancelled
std::string_view OfferStatusName(OfferStatus s);      // stored: active | accepted | cancelled

// The canonical decimal id of a leaf ("12"), or nullopt.
std::optional<std::uint64_t> ParseId(std::string_view id);

Result<std::optional<Listing>> LoadListing(store::Database& db, std::uint64_t id);
Result<std::optional<Offer>> LoadOffer(store::Database& db, std::uint64_t id);
Result<std::optional<Inscription>> LoadInscription(store::Database& db, std::string_view id);
// The configuration (fee 0 and no account when the genesis set none).
Result<MarketConfig> ReadConfig(store::Database& db);
Result<bool> HasConfig(store::Database& db);

// Next ids: 1 + the highest so far (rows are never deleted).
Result<std::uint64_t> NextListingId(store::Database& db);
Result<std::uint64_t> NextOfferId(store::Database& db);

// Inserts (listing_id / offer_id as given), or updates the closing columns.
Status InsertListing(store::Database& db, const Listing& l);
Status CloseListing(store::Database& db, std::uint64_t id, ListingStatus status, std::string_view buyer,
                    std::int64_t at);
Status InsertOffer(store::Database& db, const Offer& o);
Status CloseOffer(store::Database& db, std::uint64_t id, OfferStatus status, std::string_view seller, std::int64_t at);
Status InsertInscription(store::Database& db, const Inscription& i);
// Sets owner and escrowing listing (0 = none).
Status UpdateInscription(store::Database& db, std::string_view id, std::string_view owner, std::uint64_t listing_id);
Status WriteConfig(store::Database& db, const MarketConfig& c);
// Adds one trade of `price` to the kind's running volume.
Status AddVolume(store::Database& db, ItemKind kind, Amount price);

// Leaf data (docs/ROLLUP.md): u8(type) || fields.
Bytes EncodeConfigLeaf(const MarketConfig& c);
Bytes EncodeInscriptionLeaf(const Inscription& i);
Bytes EncodeListingLeaf(const Listing& l);
Bytes EncodeOfferLeaf(const Offer& o);

}  // namespace kray::market::internal
