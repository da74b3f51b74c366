// The marketplace module: its operations, tables, leaves, audit and genesis
// section in one place (see include/kray/market/market.h, docs/MARKET.md).
#include <nlohmann/json.hpp>
#include <set>

#include "kray/core/asset.h"
#include "kray/market/market.h"
#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "ops_common.h"
#include "store.h"

namespace kray::market {
namespace {

using internal::ParseId;

constexpr std::size_t kMaxTextField = 255;

Status ForEachText(store::Database& db, const std::string& sql, const std::function<Status(std::string_view)>& fn) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
}

Result<std::optional<Bytes>> EncodeConfig(store::Database& db, std::string_view id) {
  if (id != "config") return std::optional<Bytes>();
  auto has = internal::HasConfig(db);
  if (!has.ok()) return std::move(has).error();
  if (!*has) return std::optional<Bytes>();
  auto c = internal::ReadConfig(db);
  if (!c.ok()) return std::move(c).error();
  return std::optional<Bytes>(internal::EncodeConfigLeaf(*c));
}

Result<std::optional<Bytes>> EncodeInscription(store::Database& db, std::string_view id) {
  auto i = internal::LoadInscription(db, id);
  if (!i.ok()) return std::move(i).error();
  if (!i->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(internal::EncodeInscriptionLeaf(**i));
}

Result<std::optional<Bytes>> EncodeListing(store::Database& db, std::string_view id) {
  auto n = ParseId(id);
  if (!n) return std::optional<Bytes>();
  auto l = internal::LoadListing(db, *n);
  if (!l.ok()) return std::move(l).error();
  if (!l->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(internal::EncodeListingLeaf(**l));
}

Result<std::optional<Bytes>> EncodeOffer(store::Database& db, std::string_view id) {
  auto n = ParseId(id);
  if (!n) return std::optional<Bytes>();
  auto o = internal::LoadOffer(db, *n);
  if (!o.ok()) return std::move(o).error();
  if (!o->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(internal::EncodeOfferLeaf(**o));
}

Error InvalidGenesis(const std::string& what) {
  return Error::Invalid("invalid_genesis", "market: " + what);
}

// An account named in the genesis section: an existing account id, or an
// address (whose account is created without a key if the core allocation
// did not create it).
Result<std::string> GenesisAccount(state::OpContext& ctx, const nlohmann::json& v, const std::string& where) {
  if (!v.is_string()) return InvalidGenesis(where + " must be an account id or address");
  auto r = state::ResolveAccount(ctx.params(), v.get<std::string>());
  if (!r.ok()) return InvalidGenesis(where + ": " + r.error().message);
  auto found = ctx.FindAccount(r->account_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value()) {
    if (r->address.empty()) return InvalidGenesis(where + ": account " + r->account_id + " does not exist");
    KRAY_TRY(ctx.CreateAccount(r->address, ""));
  }
  return r->account_id;
}

Result<std::string> GenesisText(const nlohmann::json& e, const char* key, const std::string& where,
                                std::optional<std::string> fallback) {
  if (!e.contains(key)) {
    if (fallback) return *fallback;
    return InvalidGenesis(where + ": missing '" + key + "'");
  }
  if (!e[key].is_string() || e[key].get<std::string>().empty() || e[key].get<std::string>().size() > kMaxTextField)
    return InvalidGenesis(where + ": '" + key + "' must be a string of 1.." + std::to_string(kMaxTextField) + " bytes");
  return e[key].get<std::string>();
}

class Market : public state::Module {
 public:
  std::string_view name() const override { return kModuleName; }
  std::span<const store::Migration> migrations() const override { return MarketMigrations(); }
  std::vector<const state::OperationType*> operations() const override {
    return {&internal::ListOperation(),        &internal::BuyOperation(),
            &internal::CancelOperation(),      &internal::SweepOperation(),
            &internal::OfferOperation(),       &internal::OfferAcceptOperation(),
            &internal::OfferCancelOperation(), &internal::InscriptionTransferOperation()};
  }

  std::vector<state::LeafType> leaf_types() const override {
    using Fn = std::function<Status(std::string_view)>;
    return {
        state::LeafType{kConfigLeaf, "market.config", EncodeConfig,
                        [](store::Database& db, const Fn& fn) -> Status {
                          auto has = internal::HasConfig(db);
                          if (!has.ok()) return std::move(has).error();
                          return *has ? fn("config") : Ok();
                        }},
        state::LeafType{kInscriptionLeaf, "market.inscription", EncodeInscription,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT inscription_id FROM market_inscriptions ORDER BY 1", fn);
                        }},
        state::LeafType{kListingLeaf, "market.listing", EncodeListing,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT listing_id FROM market_listings ORDER BY 1", fn);
                        }},
        state::LeafType{kOfferLeaf, "market.offer", EncodeOffer,
                        [](store::Database& db, const Fn& fn) {
                          return ForEachText(db, "SELECT offer_id FROM market_offers ORDER BY 1", fn);
                        }},
    };
  }

  // Fungible value the module holds: escrowed rune amounts of active (and
  // expired, not yet reclaimed) listings, and escrowed prices of active
  // offers. Inscriptions are items, not amounts: their registry must be
  // consistent (each escrowed inscription is held by exactly the active
  // listing that names it, and the other way round), or the audit fails.
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    std::vector<state::ConservationTerm> terms;
    {
      auto st = db.Prepare(
          "SELECT asset, SUM(amount) FROM market_listings WHERE status='active' AND kind='rune' GROUP BY asset");
      if (!st.ok()) return std::move(st).error();
      auto rows = store::CollectRows<state::ConservationTerm>(*st, [](const store::Statement& r) {
        return state::ConservationTerm{"market.listings", r.Text(0), static_cast<Amount>(r.Int64(1))};
      });
      if (!rows.ok()) return std::move(rows).error();
      terms = std::move(*rows);
    }
    auto offers = store::QueryInt(db, "SELECT COALESCE(SUM(price), 0) FROM market_offers WHERE status='active'");
    if (!offers.ok()) return std::move(offers).error();
    if (*offers > 0)
      terms.push_back(state::ConservationTerm{"market.offers", std::string(kGasAsset), static_cast<Amount>(*offers)});
    return terms;
  }

  // Each escrowed inscription has its active listing and the reverse.
  Status CheckInvariants(store::Database& db) const override { return CheckInscriptionRegistry(db); }

  Status ApplyGenesis(state::OpContext& ctx, std::string_view section) const override {
    if (section.empty()) return Ok();
    auto j = nlohmann::json::parse(section, nullptr, false);
    if (!j.is_object()) return InvalidGenesis("the section must be an object");
    for (const auto& [k, v] : j.items())
      if (k != "fee_bps" && k != "fee_account" && k != "inscriptions") return InvalidGenesis("unknown key '" + k + "'");
    MarketConfig config;
    if (j.contains("fee_bps")) {
      if (!j["fee_bps"].is_number_unsigned() || j["fee_bps"].get<std::uint64_t>() > kMaxFeeBps)
        return InvalidGenesis("fee_bps must be an integer 0..10000 (basis points)");
      config.fee_bps = static_cast<std::uint32_t>(j["fee_bps"].get<std::uint64_t>());
    }
    if (j.contains("fee_account")) {
      auto acct = GenesisAccount(ctx, j["fee_account"], "fee_account");
      if (!acct.ok()) return std::move(acct).error();
      config.fee_account = std::move(*acct);
    } else if (config.fee_bps > 0) {
      return InvalidGenesis("fee_bps > 0 needs a fee_account");
    }
    KRAY_TRY(internal::WriteConfig(ctx.Sql(), config));
    ctx.Touch(state::LeafId{kConfigLeaf, "config"});
    if (!j.contains("inscriptions")) return Ok();
    if (!j["inscriptions"].is_array()) return InvalidGenesis("inscriptions must be an array");
    std::set<std::string> seen;
    std::size_t n = 0;
    for (const auto& e : j["inscriptions"]) {
      std::string where = "inscriptions[" + std::to_string(n++) + "]";
      if (!e.is_object()) return InvalidGenesis(where + " must be an object");
      for (const auto& [k, v] : e.items())
        if (k != "inscription_id" && k != "owner" && k != "content_type" && k != "origin")
          return InvalidGenesis(where + ": unknown key '" + k + "'");
      Inscription ins;
      if (!e.contains("inscription_id") || !e["inscription_id"].is_string() ||
          !IsInscriptionId(e["inscription_id"].get<std::string>()))
        return InvalidGenesis(where + ": inscription_id must be <txid>i<index>");
      ins.inscription_id = e["inscription_id"].get<std::string>();
      where += " (" + ins.inscription_id + ")";
      if (!seen.insert(ins.inscription_id).second) return InvalidGenesis(where + ": duplicate inscription");
      if (!e.contains("owner")) return InvalidGenesis(where + ": missing 'owner'");
      auto owner = GenesisAccount(ctx, e["owner"], where + " owner");
      if (!owner.ok()) return std::move(owner).error();
      ins.owner = std::move(*owner);
      auto content_type = GenesisText(e, "content_type", where, std::nullopt);
      if (!content_type.ok()) return std::move(content_type).error();
      ins.content_type = std::move(*content_type);
      auto origin = GenesisText(e, "origin", where, std::string("genesis"));
      if (!origin.ok()) return std::move(origin).error();
      ins.origin = std::move(*origin);
      KRAY_TRY(internal::InsertInscription(ctx.Sql(), ins));
      ctx.Touch(internal::InscriptionLeaf(ins.inscription_id));
    }
    return Ok();
  }

 private:
  static Status CheckInscriptionRegistry(store::Database& db) {
    auto orphans =
        store::QueryInt(db,
                        "SELECT COUNT(*) FROM market_inscriptions i WHERE i.listing_id IS NOT NULL AND NOT EXISTS ("
                        "SELECT 1 FROM market_listings l WHERE l.listing_id = i.listing_id AND l.status = 'active' AND "
                        "l.kind = 'inscription' AND l.inscription_id = i.inscription_id AND l.seller = i.owner)");
    if (!orphans.ok()) return std::move(orphans).error();
    auto unheld = store::QueryInt(
        db,
        "SELECT COUNT(*) FROM market_listings l WHERE l.status = 'active' AND l.kind = 'inscription' AND NOT EXISTS ("
        "SELECT 1 FROM market_inscriptions i WHERE i.inscription_id = l.inscription_id AND "
        "i.listing_id = l.listing_id)");
    if (!unheld.ok()) return std::move(unheld).error();
    if (*orphans != 0 || *unheld != 0) {
      return Error{ErrorKind::kConflict, "market_items_inconsistent",
                   "market: the inscription registry disagrees with the listings: " + std::to_string(*orphans) +
                       " inscription(s) escrowed by no matching active listing, " + std::to_string(*unheld) +
                       " active inscription listing(s) not holding their inscription"};
    }
    return Ok();
  }
};

}  // namespace

const state::Module& MarketModule() {
  static const Market module;
  return module;
}

}  // namespace kray::market
