// Read queries of the marketplace (see include/kray/market/reads.h).
#include "kray/market/reads.h"

#include <algorithm>
#include <functional>
#include <variant>
#include <vector>

#include "kray/market/market.h"
#include "store.h"

namespace kray::market {
namespace {

using internal::kListingColumns;
using internal::kOfferColumns;

// A WHERE clause built from optional conditions with positional binds.
class Where {
 public:
  void Add(std::string condition) { conditions_.push_back(std::move(condition)); }
  // Adds a bind and returns its placeholder ("?3").
  std::string Text(std::string value) {
    binds_.emplace_back(std::move(value));
    return "?" + std::to_string(binds_.size());
  }
  std::string Int(std::int64_t value) {
    binds_.emplace_back(value);
    return "?" + std::to_string(binds_.size());
  }
  std::string Sql() const {
    std::string out;
    for (const auto& c : conditions_) out += (out.empty() ? " WHERE " : " AND ") + c;
    return out;
  }
  void Bind(store::Statement& st) const {
    for (std::size_t i = 0; i < binds_.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      if (const auto* v = std::get_if<std::int64_t>(&binds_[i]))
        st.Bind(idx, *v);
      else
        st.Bind(idx, std::get<std::string>(binds_[i]));
    }
  }

 private:
  std::vector<std::string> conditions_;
  std::vector<std::variant<std::int64_t, std::string>> binds_;
};

// The stored-status condition of a filter at `now` (closed = the table's
// completed status: sold / accepted).
void AddStatus(Where& w, StatusFilter f, std::int64_t now, const char* completed) {
  switch (f) {
    case StatusFilter::kActive:
      w.Add("status = 'active' AND (expires_at = 0 OR expires_at > " + w.Int(now) + ")");
      break;
    case StatusFilter::kExpired:
      w.Add("status = 'active' AND expires_at <> 0 AND expires_at <= " + w.Int(now));
      break;
    case StatusFilter::kCompleted:
      w.Add(std::string("status = '") + completed + "'");
      break;
    case StatusFilter::kCancelled:
      w.Add("status = 'cancelled'");
      break;
    case StatusFilter::kAll:
      break;
  }
}

std::string Bound(int limit, int offset) {
  return " LIMIT " + std::to_string(std::clamp(limit, 1, 5000)) + " OFFSET " + std::to_string(std::max(offset, 0));
}

template <class T, class F>
Result<std::vector<T>> Query(store::Database& db, const std::string& sql, const Where& w, F read) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  w.Bind(*st);
  return store::CollectRows<T>(*st, read);
}

}  // namespace

Result<std::vector<Listing>> ListListings(store::Database& db, const ListingQuery& q, std::int64_t now) {
  Where w;
  AddStatus(w, q.status, now, "sold");
  if (q.kind) w.Add("kind = " + w.Text(std::string(ItemKindName(*q.kind))));
  if (!q.asset.empty()) w.Add("asset = " + w.Text(q.asset));
  if (!q.seller.empty()) w.Add("seller = " + w.Text(q.seller));
  if (q.order == ListingOrder::kNewest && q.before != 0)
    w.Add("listing_id < " + w.Int(static_cast<std::int64_t>(q.before)));
  std::string order =
      q.order == ListingOrder::kPrice ? " ORDER BY price ASC, listing_id ASC" : " ORDER BY listing_id DESC";
  return Query<Listing>(
      db,
      std::string("SELECT ") + kListingColumns + " FROM market_listings" + w.Sql() + order + Bound(q.limit, q.offset),
      w, internal::ReadListing);
}

Result<std::optional<Listing>> FindListing(store::Database& db, std::uint64_t listing_id) {
  return internal::LoadListing(db, listing_id);
}

Result<std::vector<Offer>> ListOffers(store::Database& db, const OfferQuery& q, std::int64_t now) {
  Where w;
  AddStatus(w, q.status, now, "accepted");
  if (q.kind) w.Add("kind = " + w.Text(std::string(ItemKindName(*q.kind))));
  if (!q.asset.empty()) w.Add("asset = " + w.Text(q.asset));
  if (!q.inscription_id.empty()) w.Add("inscription_id = " + w.Text(q.inscription_id));
  if (!q.buyer.empty()) w.Add("buyer = " + w.Text(q.buyer));
  if (!q.owner.empty()) {
    w.Add("kind = 'inscription' AND inscription_id IN (SELECT inscription_id FROM market_inscriptions WHERE owner = " +
          w.Text(q.owner) + ")");
  }
  if (q.before != 0) w.Add("offer_id < " + w.Int(static_cast<std::int64_t>(q.before)));
  return Query<Offer>(db,
                      std::string("SELECT ") + kOfferColumns + " FROM market_offers" + w.Sql() +
                          " ORDER BY offer_id DESC" + Bound(q.limit, q.offset),
                      w, internal::ReadOffer);
}

Result<std::optional<Offer>> FindOffer(store::Database& db, std::uint64_t offer_id) {
  return internal::LoadOffer(db, offer_id);
}

Result<std::optional<Inscription>> FindInscription(store::Database& db, std::string_view inscription_id) {
  return internal::LoadInscription(db, inscription_id);
}

Result<std::vector<Inscription>> InscriptionsOf(store::Database& db, std::string_view owner, std::string_view after,
                                                int limit) {
  Where w;
  w.Add("owner = " + w.Text(std::string(owner)));
  if (!after.empty()) w.Add("inscription_id > " + w.Text(std::string(after)));
  return Query<Inscription>(db,
                            std::string("SELECT ") + internal::kInscriptionColumns + " FROM market_inscriptions" +
                                w.Sql() + " ORDER BY inscription_id" + Bound(limit, 0),
                            w, internal::ReadInscription);
}

Result<MarketConfig> LoadConfig(store::Database& db) {
  return internal::ReadConfig(db);
}

Result<MarketStats> GetMarketStats(store::Database& db, std::int64_t now) {
  store::ReadTransaction snapshot(db);
  MarketStats s;
  for (const char* kind : {"rune", "inscription"}) {
    for (const char* st : {"active", "expired", "sold", "cancelled"}) s.listings[kind][st] = 0;
    for (const char* st : {"active", "expired", "accepted", "cancelled"}) s.offers[kind][st] = 0;
  }
  auto count = [&](const char* table, auto& into) -> Status {
    auto st =
        db.Prepare(std::string("SELECT kind, CASE WHEN status = 'active' AND expires_at <> 0 AND expires_at <= ?1 "
                               "THEN 'expired' ELSE status END, COUNT(*) FROM ") +
                   table + " GROUP BY 1, 2");
    if (!st.ok()) return std::move(st).error();
    st->Bind(1, now);
    return store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      into[r.Text(0)][r.Text(1)] = static_cast<std::uint64_t>(r.Int64(2));
      return Ok();
    });
  };
  KRAY_TRY(count("market_listings", s.listings));
  KRAY_TRY(count("market_offers", s.offers));
  {
    auto st = db.Prepare("SELECT kind, trades, volume FROM market_volume ORDER BY kind");
    if (!st.ok()) return std::move(st).error();
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      MarketStats::Volume v{r.Text(0), static_cast<std::uint64_t>(r.Int64(1)), 0};
      for (char c : r.Text(2)) v.volume = v.volume * 10 + static_cast<unsigned>(c - '0');
      s.volume.push_back(std::move(v));
      return Ok();
    }));
  }
  {
    // Rune floors need the exact per-unit order (CheaperPerUnit), so they
    // are found here over the active listings rather than by SQL.
    auto st = db.Prepare(std::string("SELECT ") + kListingColumns +
                         " FROM market_listings WHERE status = 'active' AND kind = 'rune' AND "
                         "(expires_at = 0 OR expires_at > ?1)");
    if (!st.ok()) return std::move(st).error();
    st->Bind(1, now);
    std::map<std::string, Listing> best;
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      Listing l = internal::ReadListing(r);
      auto it = best.find(l.item.asset);
      if (it == best.end() || CheaperPerUnit(l, it->second)) best[l.item.asset] = std::move(l);
      return Ok();
    }));
    for (const auto& [asset, l] : best) s.rune_floors.push_back(Floor{asset, l.listing_id, l.price, l.item.amount});
  }
  {
    auto st = db.Prepare(
        "SELECT listing_id, price FROM market_listings WHERE status = 'active' AND kind = 'inscription' AND "
        "(expires_at = 0 OR expires_at > ?1) ORDER BY price ASC, listing_id ASC LIMIT 1");
    if (!st.ok()) return std::move(st).error();
    st->Bind(1, now);
    auto row = store::FirstRow<Floor>(*st, [](const store::Statement& r) {
      return Floor{"", static_cast<std::uint64_t>(r.Int64(0)), static_cast<Amount>(r.Int64(1)), 0};
    });
    if (!row.ok()) return std::move(row).error();
    s.inscription_floor = *row;
  }
  auto config = internal::ReadConfig(db);
  if (!config.ok()) return std::move(config).error();
  s.config = std::move(*config);
  return s;
}

}  // namespace kray::market
