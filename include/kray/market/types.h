// Domain types of the marketplace (docs/MARKET.md): items, listings, offers,
// inscriptions, the fee configuration. No SQL, no JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/amount.h"

namespace kray::market {

enum class ItemKind : std::uint8_t { kRune = 0, kInscription = 1 };
std::string_view ItemKindName(ItemKind k);  // "rune" | "inscription"
std::optional<ItemKind> ParseItemKind(std::string_view name);

// What is sold or wanted: `amount` of rune `asset`, or one inscription.
struct Item {
  ItemKind kind = ItemKind::kRune;
  std::string asset;           // rune items
  Amount amount = 0;           // rune items
  std::string inscription_id;  // inscription items
};

// Stored status. An active listing or offer whose expires_at has come is
// reported as "expired": inert (it cannot be bought or accepted) until its
// creator reclaims it with market_cancel / market_offer_cancel.
enum class ListingStatus : std::uint8_t { kActive = 0, kSold = 1, kCancelled = 2 };
enum class OfferStatus : std::uint8_t { kActive = 0, kAccepted = 1, kCancelled = 2 };

struct Listing {
  std::uint64_t listing_id = 0;
  std::string seller;
  Item item;
  Amount price = 0;  // KRAY credits the buyer pays
  std::uint32_t fee_bps = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;  // 0: never
  ListingStatus status = ListingStatus::kActive;
  std::string buyer;  // when sold
  std::int64_t closed_at = 0;

  bool ExpiredAt(std::int64_t now) const {
    return status == ListingStatus::kActive && expires_at != 0 && now >= expires_at;
  }
  // "active" | "expired" | "sold" | "cancelled" at `now`.
  std::string_view StatusAt(std::int64_t now) const;
};

struct Offer {
  std::uint64_t offer_id = 0;
  std::string buyer;
  Item item;
  Amount price = 0;  // KRAY credits escrowed from the buyer
  std::uint32_t fee_bps = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  OfferStatus status = OfferStatus::kActive;
  std::string seller;  // who accepted
  std::int64_t closed_at = 0;

  bool ExpiredAt(std::int64_t now) const {
    return status == OfferStatus::kActive && expires_at != 0 && now >= expires_at;
  }
  // "active" | "expired" | "accepted" | "cancelled" at `now`.
  std::string_view StatusAt(std::int64_t now) const;
};

struct Inscription {
  std::string inscription_id;
  std::string owner;
  std::string content_type;
  std::string origin;
  std::uint64_t listing_id = 0;  // the active listing escrowing it, 0 if none
};

struct MarketConfig {
  std::uint32_t fee_bps = 0;
  std::string fee_account;  // "" when fee_bps == 0
};

// floor(price * fee_bps / 10000) (128-bit intermediate; never above price).
Amount FeeFor(Amount price, std::uint32_t fee_bps);

// Credits per whole unit of a rune with `decimals` decimals for `amount`
// base units sold at `price`: floor(price * 10^decimals / amount), in 128
// bits (0 when amount is 0).
u128 UnitPrice(Amount price, Amount amount, int decimals);

// Decimal text of a 128-bit value.
std::string U128String(u128 v);

// True if listing a is cheaper per rune unit than b (price/amount compared
// exactly by cross-multiplying in 128 bits); ties go to the older listing.
bool CheaperPerUnit(const Listing& a, const Listing& b);

}  // namespace kray::market
