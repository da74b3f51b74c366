// Marketplace domain helpers (types.h, market.h).
#include "kray/market/types.h"

#include <algorithm>
#include <cctype>

#include "kray/market/market.h"
#include "kray/market/reads.h"

namespace kray::market {

std::string_view ItemKindName(ItemKind k) {
  return k == ItemKind::kRune ? "rune" : "inscription";
}

std::optional<ItemKind> ParseItemKind(std::string_view name) {
  if (name == "rune") return ItemKind::kRune;
  if (name == "inscription") return ItemKind::kInscription;
  return std::nullopt;
}

std::string_view Listing::StatusAt(std::int64_t now) const {
  switch (status) {
    case ListingStatus::kActive:
      return ExpiredAt(now) ? "expired" : "active";
    case ListingStatus::kSold:
      return "sold";
    case ListingStatus::kCancelled:
      return "cancelled";
  }
  return "active";
}

std::string_view Offer::StatusAt(std::int64_t now) const {
  switch (status) {
    case OfferStatus::kActive:
      return ExpiredAt(now) ? "expired" : "active";
    case OfferStatus::kAccepted:
      return "accepted";
    case OfferStatus::kCancelled:
      return "cancelled";
  }
  return "active";
}

Amount FeeFor(Amount price, std::uint32_t fee_bps) {
  // fee_bps <= 10000, so the quotient never exceeds price (and fits).
  return static_cast<Amount>(static_cast<u128>(price) * std::min<std::uint32_t>(fee_bps, kMaxFeeBps) / kMaxFeeBps);
}

u128 UnitPrice(Amount price, Amount amount, int decimals) {
  if (amount == 0) return 0;
  u128 scaled = price;
  for (int i = 0; i < std::clamp(decimals, 0, 18); ++i) scaled *= 10;  // < 2^63 * 10^18 < 2^124
  return scaled / amount;
}

bool CheaperPerUnit(const Listing& a, const Listing& b) {
  // a.price / a.amount < b.price / b.amount, exactly: both sides < 2^126.
  u128 lhs = static_cast<u128>(a.price) * b.item.amount;
  u128 rhs = static_cast<u128>(b.price) * a.item.amount;
  if (lhs != rhs) return lhs < rhs;
  return a.listing_id < b.listing_id;
}

bool IsInscriptionId(std::string_view id) {
  // ord: <reveal txid, 64 hex>i<index>; the index is a u32 without leading zeros.
  if (id.size() < 66 || id.size() > 75 || id[64] != 'i') return false;
  for (std::size_t i = 0; i < 64; ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::string_view index = id.substr(65);
  if (index.size() > 1 && index[0] == '0') return false;
  std::uint64_t v = 0;
  for (char c : index) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v <= 0xffffffffULL;
}

std::string U128String(u128 v) {
  if (v == 0) return "0";
  std::string out;
  while (v > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<StatusFilter> ParseListingStatusFilter(std::string_view s) {
  if (s == "active") return StatusFilter::kActive;
  if (s == "expired") return StatusFilter::kExpired;
  if (s == "sold") return StatusFilter::kCompleted;
  if (s == "cancelled") return StatusFilter::kCancelled;
  if (s == "all") return StatusFilter::kAll;
  return std::nullopt;
}

std::optional<StatusFilter> ParseOfferStatusFilter(std::string_view s) {
  if (s == "accepted") return StatusFilter::kCompleted;
  if (s == "sold") return std::nullopt;
  return ParseListingStatusFilter(s);
}

}  // namespace kray::market
