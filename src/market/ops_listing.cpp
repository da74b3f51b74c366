// Listings: market_list, market_buy, market_cancel, market_sweep
// (docs/MARKET.md). A listing escrows its item: a rune amount leaves the
// seller's balance and is held by the module (a conservation term); an
// inscription stays registered to the seller but is marked as escrowed by
// the listing, so it can be neither transferred nor listed again.
#include <algorithm>
#include <array>

#include "kray/core/asset.h"
#include "kray/market/market.h"
#include "ops_common.h"
#include "store.h"

namespace kray::market::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

// The listing an operation names, or 404 "listing_not_found".
Result<Listing> FindListing(state::OpContext& ctx, const state::Operation& op) {
  std::uint64_t id = FieldU64(op, "listing_id");
  auto l = LoadListing(ctx.Sql(), id);
  if (!l.ok()) return std::move(l).error();
  if (!l->has_value()) return Error::NotFound("listing_not_found", "no listing " + std::to_string(id));
  return std::move(**l);
}

Status NotClosed(const Listing& l) {
  if (l.status == ListingStatus::kSold)
    return Error::Conflict("listing_sold", "listing " + std::to_string(l.listing_id) + " is already sold");
  if (l.status == ListingStatus::kCancelled)
    return Error::Conflict("listing_cancelled", "listing " + std::to_string(l.listing_id) + " was cancelled");
  return Ok();
}

// Closes an active listing as sold to `buyer`, who has already paid: the
// proceeds go to the seller (minus the fee), the item to the buyer.
Result<Amount> Settle(state::OpContext& ctx, const Listing& l, const std::string& buyer) {
  auto fee = PayProceeds(ctx, l.seller, l.price, l.fee_bps);
  if (!fee.ok()) return fee;
  if (l.item.kind == ItemKind::kRune) {
    KRAY_TRY(ctx.Credit(buyer, l.item.asset, state::Bucket::kAvailable, l.item.amount));
  } else {
    KRAY_TRY(UpdateInscription(ctx.Sql(), l.item.inscription_id, buyer, 0));
    ctx.Touch(InscriptionLeaf(l.item.inscription_id));
  }
  KRAY_TRY(CloseListing(ctx.Sql(), l.listing_id, ListingStatus::kSold, buyer, ctx.now()));
  KRAY_TRY(AddVolume(ctx.Sql(), l.item.kind, l.price));
  ctx.Touch(ListingLeaf(l.listing_id));
  return fee;
}

class ListOp : public state::OperationType {
 public:
  std::string_view name() const override { return kListOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kItemFields; }
  std::string_view signer_field() const override { return "seller_account"; }
  Amount gas() const override { return GasFor(TxType::kMarketList); }
  Status Check(const ChainParams& params, const state::Operation& op) const override {
    return CheckItemAndPrice(params, op);
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto item = ItemFromFields(ctx.params(), op);
    if (!item.ok()) return std::move(item).error();
    Listing l;
    l.seller = op.signer;
    l.item = std::move(*item);
    l.price = FieldU64(op, "price_credits");
    l.created_at = ctx.now();
    l.expires_at = static_cast<std::int64_t>(FieldU64(op, "expires_at"));
    KRAY_TRY(CheckExpiry(ctx, l.expires_at));
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    l.fee_bps = config->fee_bps;
    auto id = NextListingId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    l.listing_id = *id;
    if (l.item.kind == ItemKind::kInscription) {
      auto ins = LoadInscription(ctx.Sql(), l.item.inscription_id);
      if (!ins.ok()) return std::move(ins).error();
      if (!ins->has_value())
        return Error::NotFound("inscription_not_found", "no inscription " + l.item.inscription_id + " on L2");
      if ((*ins)->owner != op.signer)
        return Error::Conflict("not_owner", "inscription " + l.item.inscription_id + " is not owned by " + op.signer);
      if ((*ins)->listing_id != 0)
        return Error::Conflict("inscription_escrowed", "inscription " + l.item.inscription_id +
                                                           " is already escrowed by listing " +
                                                           std::to_string((*ins)->listing_id));
      KRAY_TRY(InsertListing(ctx.Sql(), l));
      KRAY_TRY(UpdateInscription(ctx.Sql(), l.item.inscription_id, op.signer, l.listing_id));
      ctx.Touch(InscriptionLeaf(l.item.inscription_id));
    } else {
      // The escrow leaves the seller's spendable balance; the module holds it.
      KRAY_TRY(ctx.Debit(op.signer, l.item.asset, state::Bucket::kAvailable, l.item.amount));
      KRAY_TRY(InsertListing(ctx.Sql(), l));
    }
    ctx.Touch(ListingLeaf(l.listing_id));
    ctx.SetResult("listing_id", std::to_string(l.listing_id));
    ctx.SetResult("fee_bps", std::to_string(l.fee_bps));
    return Ok();
  }
};

class BuyOp : public state::OperationType {
 public:
  std::string_view name() const override { return kBuyOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "buyer_account"; }
  Amount gas() const override { return GasFor(TxType::kMarketBuy); }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldU64(op, "listing_id") == 0) return Error::Invalid("invalid_field", "listing_id must be at least 1");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto l = FindListing(ctx, op);
    if (!l.ok()) return std::move(l).error();
    KRAY_TRY(NotClosed(*l));
    if (l->ExpiredAt(ctx.now()))
      return Error::Conflict("listing_expired", "listing " + std::to_string(l->listing_id) + " expired at " +
                                                    std::to_string(l->expires_at));
    if (l->seller == op.signer)
      return Error::Conflict("own_listing", "listing " + std::to_string(l->listing_id) + " is your own");
    KRAY_TRY(RequireKray(ctx, op.signer, l->price, gas()));
    KRAY_TRY(ctx.Debit(op.signer, kGasAsset, state::Bucket::kAvailable, l->price));
    auto fee = Settle(ctx, *l, op.signer);
    if (!fee.ok()) return std::move(fee).error();
    ctx.SetResult("listing_id", std::to_string(l->listing_id));
    ctx.SetResult("price_credits", std::to_string(l->price));
    ctx.SetResult("fee_credits", std::to_string(*fee));
    ctx.SetResult("seller", l->seller);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"listing_id", FieldKind::kUint}}};
};

// Cancels a listing (active or expired: this is also how a seller reclaims
// an expired one) and returns the escrow.
class CancelOp : public state::OperationType {
 public:
  std::string_view name() const override { return kCancelOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "seller_account"; }
  Amount gas() const override { return 2; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldU64(op, "listing_id") == 0) return Error::Invalid("invalid_field", "listing_id must be at least 1");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto l = FindListing(ctx, op);
    if (!l.ok()) return std::move(l).error();
    if (l->seller != op.signer)
      return Error::Conflict("not_seller", "listing " + std::to_string(l->listing_id) + " belongs to " + l->seller);
    KRAY_TRY(NotClosed(*l));
    const bool expired = l->ExpiredAt(ctx.now());
    if (l->item.kind == ItemKind::kRune) {
      KRAY_TRY(ctx.Credit(l->seller, l->item.asset, state::Bucket::kAvailable, l->item.amount));
    } else {
      KRAY_TRY(UpdateInscription(ctx.Sql(), l->item.inscription_id, l->seller, 0));
      ctx.Touch(InscriptionLeaf(l->item.inscription_id));
    }
    KRAY_TRY(CloseListing(ctx.Sql(), l->listing_id, ListingStatus::kCancelled, "", ctx.now()));
    ctx.Touch(ListingLeaf(l->listing_id));
    ctx.SetResult("listing_id", std::to_string(l->listing_id));
    ctx.SetResult("was_expired", expired ? "true" : "false");
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"listing_id", FieldKind::kUint}}};
};

// Buys up to max_listings active listings of one rune, cheapest per unit
// first (ties: the older listing), skipping the buyer's own and expired
// ones, while the running total stays within max_total_credits: the first
// listing that would exceed the cap ends the sweep. 409 "sweep_empty" if
// not even the cheapest fits.
class SweepOp : public state::OperationType {
 public:
  std::string_view name() const override { return kSweepOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "buyer_account"; }
  Amount gas() const override { return GasFor(TxType::kDefiComplex); }
  Status Check(const ChainParams& params, const state::Operation& op) const override {
    auto asset = op.Field("asset").value_or("");
    if (!IsTradableRune(params, asset))
      return Error::Invalid("not_a_rune",
                            "'" + std::string(asset) + "' is not a rune listed for " + std::string(kGasAsset));
    std::uint64_t n = FieldU64(op, "max_listings");
    if (n == 0 || n > kMaxSweepListings)
      return Error::Invalid("invalid_field", "max_listings must be 1.." + std::to_string(kMaxSweepListings));
    if (FieldU64(op, "max_total_credits") == 0)
      return Error::Invalid("invalid_amount", "max_total_credits must be greater than zero");
    return OnlyEvidence(op, {});
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    const std::string asset(*op.Field("asset"));
    const std::uint64_t max_listings = FieldU64(op, "max_listings");
    const Amount cap = FieldU64(op, "max_total_credits");
    // Candidates: only a listing priced within the cap can be part of the
    // sweep. Ordered exactly (CheaperPerUnit) here, not in SQL, which would
    // need a floating-point ratio.
    auto st = ctx.Sql().Use(std::string("SELECT ") + kListingColumns +
                            " FROM market_listings WHERE status='active' AND kind='rune' AND asset=?1 AND price<=?2 "
                            "AND seller<>?3 AND (expires_at=0 OR expires_at>?4)");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, asset).Bind(2, static_cast<std::int64_t>(cap)).Bind(3, op.signer).Bind(4, ctx.now());
    auto candidates = store::CollectRows<Listing>(**st, ReadListing);
    if (!candidates.ok()) return std::move(candidates).error();
    std::sort(candidates->begin(), candidates->end(), CheaperPerUnit);
    std::vector<const Listing*> chosen;
    Amount total = 0, amount = 0;
    for (const auto& l : *candidates) {
      if (chosen.size() >= max_listings) break;
      auto t = CheckedAdd(total, l.price);
      if (!t || *t > cap) break;
      auto a = CheckedAdd(amount, l.item.amount);
      if (!a) break;  // the buyer could not hold more of the rune anyway
      total = *t;
      amount = *a;
      chosen.push_back(&l);
    }
    if (chosen.empty())
      return Error::Conflict("sweep_empty", "no active " + asset + " listing of another seller fits within " +
                                                std::to_string(cap) + " credits");
    KRAY_TRY(RequireKray(ctx, op.signer, total, gas()));
    KRAY_TRY(ctx.Debit(op.signer, kGasAsset, state::Bucket::kAvailable, total));
    Amount fees = 0;
    std::string ids;
    for (const Listing* l : chosen) {
      auto fee = Settle(ctx, *l, op.signer);
      if (!fee.ok()) return std::move(fee).error();
      fees += *fee;  // <= total
      ids += (ids.empty() ? "" : ",") + std::to_string(l->listing_id);
    }
    ctx.SetResult("listing_ids", ids);
    ctx.SetResult("count", std::to_string(chosen.size()));
    ctx.SetResult("total_price_credits", std::to_string(total));
    ctx.SetResult("amount", std::to_string(amount));
    ctx.SetResult("fee_credits", std::to_string(fees));
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 3> kFields = {{
      {"asset", FieldKind::kAsset},
      {"max_listings", FieldKind::kUint},
      {"max_total_credits", FieldKind::kAmount},
  }};
};

}  // namespace

const state::OperationType& ListOperation() {
  static const ListOp op;
  return op;
}
const state::OperationType& BuyOperation() {
  static const BuyOp op;
  return op;
}
const state::OperationType& CancelOperation() {
  static const CancelOp op;
  return op;
}
const state::OperationType& SweepOperation() {
  static const SweepOp op;
  return op;
}

}  // namespace kray::market::internal
