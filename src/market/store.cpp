// The marketplace's tables and leaf encodings (see store.h).
#include "store.h"

#include "kray/market/market.h"
#include "kray/state/leaves.h"

namespace kray::market::internal {
namespace {

std::int64_t I64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

Item ReadItem(const store::Statement& s, int kind_col) {
  Item item;
  item.kind = ParseItemKind(s.Text(kind_col)).value_or(ItemKind::kRune);
  item.asset = s.Text(kind_col + 1);
  item.amount = static_cast<Amount>(s.Int64(kind_col + 2));
  item.inscription_id = s.Text(kind_col + 3);
  return item;
}

ListingStatus ParseListingStatus(const std::string& s) {
  return s == "sold" ? ListingStatus::kSold : s == "cancelled" ? ListingStatus::kCancelled : ListingStatus::kActive;
}

OfferStatus ParseOfferStatus(const std::string& s) {
  return s == "accepted" ? OfferStatus::kAccepted : s == "cancelled" ? OfferStatus::kCancelled : OfferStatus::kActive;
}

Result<std::uint64_t> NextId(store::Database& db, const std::string& sql) {
  auto max = store::QueryInt(db, sql);
  if (!max.ok()) return std::move(max).error();
  return static_cast<std::uint64_t>(*max) + 1;
}

void PutItem(Bytes& out, const Item& item) {
  out.push_back(static_cast<std::uint8_t>(item.kind));
  state::PutLp(out, item.asset);
  state::PutU64(out, item.amount);
  state::PutLp(out, item.inscription_id);
}

}  // namespace

Listing ReadListing(const store::Statement& s) {
  Listing l;
  l.listing_id = static_cast<std::uint64_t>(s.Int64(0));
  l.seller = s.Text(1);
  l.item = ReadItem(s, 2);
  l.price = static_cast<Amount>(s.Int64(6));
  l.fee_bps = static_cast<std::uint32_t>(s.Int64(7));
  l.created_at = s.Int64(8);
  l.expires_at = s.Int64(9);
  l.status = ParseListingStatus(s.Text(10));
  l.buyer = s.Text(11);
  l.closed_at = s.Int64(12);
  return l;
}

Offer ReadOffer(const store::Statement& s) {
  Offer o;
  o.offer_id = static_cast<std::uint64_t>(s.Int64(0));
  o.buyer = s.Text(1);
  o.item = ReadItem(s, 2);
  o.price = static_cast<Amount>(s.Int64(6));
  o.fee_bps = static_cast<std::uint32_t>(s.Int64(7));
  o.created_at = s.Int64(8);
  o.expires_at = s.Int64(9);
  o.status = ParseOfferStatus(s.Text(10));
  o.seller = s.Text(11);
  o.closed_at = s.Int64(12);
  return o;
}

Inscription ReadInscription(const store::Statement& s) {
  return Inscription{s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                     s.IsNull(4) ? 0 : static_cast<std::uint64_t>(s.Int64(4))};
}

std::string_view ListingStatusName(ListingStatus s) {
  return s == ListingStatus::kSold ? "sold" : s == ListingStatus::kCancelled ? "cancelled" : "active";
}

std::string_view OfferStatusName(OfferStatus s) {
  return s == OfferStatus::kAccepted ? "accepted" : s == OfferStatus::kCancelled ? "cancelled" : "active";
}

std::optional<std::uint64_t> ParseId(std::string_view id) {
  auto v = ParseAmount(id);
  if (!v.ok() || *v == 0 || std::to_string(*v) != id) return std::nullopt;
  return *v;
}

Result<std::optional<Listing>> LoadListing(store::Database& db, std::uint64_t id) {
  auto st = db.Use(std::string("SELECT ") + kListingColumns + " FROM market_listings WHERE listing_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id));
  return store::FirstRow<Listing>(**st, ReadListing);
}

Result<std::optional<Offer>> LoadOffer(store::Database& db, std::uint64_t id) {
  auto st = db.Use(std::string("SELECT ") + kOfferColumns + " FROM market_offers WHERE offer_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id));
  return store::FirstRow<Offer>(**st, ReadOffer);
}

Result<std::optional<Inscription>> LoadInscription(store::Database& db, std::string_view id) {
  auto st = db.Use(std::string("SELECT ") + kInscriptionColumns + " FROM market_inscriptions WHERE inscription_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  return store::FirstRow<Inscription>(**st, ReadInscription);
}

Result<MarketConfig> ReadConfig(store::Database& db) {
  auto st = db.Use("SELECT fee_bps, fee_account FROM market_config WHERE id=1");
  if (!st.ok()) return std::move(st).error();
  auto row = store::FirstRow<MarketConfig>(**st, [](const store::Statement& s) {
    return MarketConfig{static_cast<std::uint32_t>(s.Int64(0)), s.Text(1)};
  });
  if (!row.ok()) return std::move(row).error();
  return row->value_or(MarketConfig{});
}

Result<bool> HasConfig(store::Database& db) {
  auto n = store::QueryInt(db, "SELECT COUNT(*) FROM market_config");
  if (!n.ok()) return std::move(n).error();
  return *n > 0;
}

Result<std::uint64_t> NextListingId(store::Database& db) {
  return NextId(db, "SELECT COALESCE(MAX(listing_id), 0) FROM market_listings");
}

Result<std::uint64_t> NextOfferId(store::Database& db) {
  return NextId(db, "SELECT COALESCE(MAX(offer_id), 0) FROM market_offers");
}

Status InsertListing(store::Database& db, const Listing& l) {
  auto st = db.Use(
      "INSERT INTO market_listings (listing_id, seller, kind, asset, amount, inscription_id, price, fee_bps, "
      "created_at, expires_at, status) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'active')");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(l.listing_id)).Bind(2, l.seller).Bind(3, ItemKindName(l.item.kind)).Bind(4, l.item.asset);
  (*st)->Bind(5, I64(l.item.amount)).Bind(6, l.item.inscription_id).Bind(7, I64(l.price)).Bind(8, I64(l.fee_bps));
  (*st)->Bind(9, l.created_at).Bind(10, l.expires_at);
  return (*st)->Run();
}

Status CloseListing(store::Database& db, std::uint64_t id, ListingStatus status, std::string_view buyer,
                    std::int64_t at) {
  auto st = db.Use("UPDATE market_listings SET status=?2, buyer=?3, closed_at=?4 WHERE listing_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id)).Bind(2, ListingStatusName(status)).Bind(3, buyer).Bind(4, at);
  return (*st)->Run();
}

Status InsertOffer(store::Database& db, const Offer& o) {
  auto st = db.Use(
      "INSERT INTO market_offers (offer_id, buyer, kind, asset, amount, inscription_id, price, fee_bps, "
      "created_at, expires_at, status) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'active')");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(o.offer_id)).Bind(2, o.buyer).Bind(3, ItemKindName(o.item.kind)).Bind(4, o.item.asset);
  (*st)->Bind(5, I64(o.item.amount)).Bind(6, o.item.inscription_id).Bind(7, I64(o.price)).Bind(8, I64(o.fee_bps));
  (*st)->Bind(9, o.created_at).Bind(10, o.expires_at);
  return (*st)->Run();
}

Status CloseOffer(store::Database& db, std::uint64_t id, OfferStatus status, std::string_view seller, std::int64_t at) {
  auto st = db.Use("UPDATE market_offers SET status=?2, seller=?3, closed_at=?4 WHERE offer_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(id)).Bind(2, OfferStatusName(status)).Bind(3, seller).Bind(4, at);
  return (*st)->Run();
}

Status InsertInscription(store::Database& db, const Inscription& i) {
  auto st = db.Use(
      "INSERT INTO market_inscriptions (inscription_id, owner, content_type, origin, listing_id) "
      "VALUES (?1,?2,?3,?4,NULL)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, i.inscription_id).Bind(2, i.owner).Bind(3, i.content_type).Bind(4, i.origin);
  return (*st)->Run();
}

Status UpdateInscription(store::Database& db, std::string_view id, std::string_view owner, std::uint64_t listing_id) {
  auto st = db.Use("UPDATE market_inscriptions SET owner=?2, listing_id=?3 WHERE inscription_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, owner);
  if (listing_id == 0)
    (*st)->BindNull(3);
  else
    (*st)->Bind(3, I64(listing_id));
  return (*st)->Run();
}

Status WriteConfig(store::Database& db, const MarketConfig& c) {
  auto st = db.Use("INSERT OR REPLACE INTO market_config (id, fee_bps, fee_account) VALUES (1, ?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, I64(c.fee_bps)).Bind(2, c.fee_account);
  return (*st)->Run();
}

Status AddVolume(store::Database& db, ItemKind kind, Amount price) {
  auto cur = db.Use("SELECT trades, volume FROM market_volume WHERE kind=?1");
  if (!cur.ok()) return std::move(cur).error();
  (*cur)->Bind(1, ItemKindName(kind));
  auto row = store::FirstRow<std::pair<std::int64_t, std::string>>(
      **cur, [](const store::Statement& s) { return std::make_pair(s.Int64(0), s.Text(1)); });
  if (!row.ok()) return std::move(row).error();
  std::int64_t trades = 0;
  u128 volume = 0;
  if (row->has_value()) {
    trades = (*row)->first;
    for (char c : (*row)->second) {
      if (c < '0' || c > '9') return Error::Internal("market_volume holds a non-decimal volume");
      volume = volume * 10 + static_cast<unsigned>(c - '0');
    }
  }
  // A u128 sum of u63 prices cannot wrap before 2^65 trades.
  volume += price;
  auto st = db.Use("INSERT OR REPLACE INTO market_volume (kind, trades, volume) VALUES (?1, ?2, ?3)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, ItemKindName(kind)).Bind(2, trades + 1).Bind(3, U128String(volume));
  return (*st)->Run();
}

Bytes EncodeConfigLeaf(const MarketConfig& c) {
  Bytes out{kConfigLeaf};
  state::PutU32(out, c.fee_bps);
  state::PutLp(out, c.fee_account);
  return out;
}

Bytes EncodeInscriptionLeaf(const Inscription& i) {
  Bytes out{kInscriptionLeaf};
  state::PutLp(out, i.inscription_id);
  state::PutLp(out, i.owner);
  state::PutLp(out, i.content_type);
  state::PutLp(out, i.origin);
  state::PutU64(out, i.listing_id);
  return out;
}

Bytes EncodeListingLeaf(const Listing& l) {
  Bytes out{kListingLeaf};
  state::PutU64(out, l.listing_id);
  state::PutLp(out, l.seller);
  PutItem(out, l.item);
  state::PutU64(out, l.price);
  state::PutU32(out, l.fee_bps);
  state::PutU64(out, static_cast<std::uint64_t>(l.created_at));
  state::PutU64(out, static_cast<std::uint64_t>(l.expires_at));
  out.push_back(static_cast<std::uint8_t>(l.status));
  state::PutLp(out, l.buyer);
  state::PutU64(out, static_cast<std::uint64_t>(l.closed_at));
  return out;
}

Bytes EncodeOfferLeaf(const Offer& o) {
  Bytes out{kOfferLeaf};
  state::PutU64(out, o.offer_id);
  state::PutLp(out, o.buyer);
  PutItem(out, o.item);
  state::PutU64(out, o.price);
  state::PutU32(out, o.fee_bps);
  state::PutU64(out, static_cast<std::uint64_t>(o.created_at));
  state::PutU64(out, static_cast<std::uint64_t>(o.expires_at));
  out.push_back(static_cast<std::uint8_t>(o.status));
  state::PutLp(out, o.seller);
  state::PutU64(out, static_cast<std::uint64_t>(o.closed_at));
  return out;
}

}  // namespace kray::market::internal
