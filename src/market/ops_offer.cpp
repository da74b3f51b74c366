// Offers: market_offer, market_offer_accept, market_offer_cancel
// (docs/MARKET.md). An offer escrows its price (KRAY credits, held by the
// module: a conservation term) for an inscription or a rune amount; the
// owner of the item accepts, and item and price move in one operation.
#include <array>

#include "kray/core/asset.h"
#include "kray/market/market.h"
#include "ops_common.h"
#include "store.h"

namespace kray::market::internal {
namespace {

using state::FieldKind;
using state::FieldSpec;

Result<Offer> FindOffer(state::OpContext& ctx, const state::Operation& op) {
  std::uint64_t id = FieldU64(op, "offer_id");
  auto o = LoadOffer(ctx.Sql(), id);
  if (!o.ok()) return std::move(o).error();
  if (!o->has_value()) return Error::NotFound("offer_not_found", "no offer " + std::to_string(id));
  return std::move(**o);
}

Status NotClosed(const Offer& o) {
  if (o.status == OfferStatus::kAccepted)
    return Error::Conflict("offer_accepted", "offer " + std::to_string(o.offer_id) + " is already accepted");
  if (o.status == OfferStatus::kCancelled)
    return Error::Conflict("offer_cancelled", "offer " + std::to_string(o.offer_id) + " was cancelled");
  return Ok();
}

Status CheckOfferId(const state::Operation& op) {
  if (FieldU64(op, "offer_id") == 0) return Error::Invalid("invalid_field", "offer_id must be at least 1");
  return OnlyEvidence(op, {});
}

class OfferOp : public state::OperationType {
 public:
  std::string_view name() const override { return kOfferOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kItemFields; }
  std::string_view signer_field() const override { return "buyer_account"; }
  Amount gas() const override { return GasFor(TxType::kMarketList); }
  Status Check(const ChainParams& params, const state::Operation& op) const override {
    return CheckItemAndPrice(params, op);
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto item = ItemFromFields(ctx.params(), op);
    if (!item.ok()) return std::move(item).error();
    Offer o;
    o.buyer = op.signer;
    o.item = std::move(*item);
    o.price = FieldU64(op, "price_credits");
    o.created_at = ctx.now();
    o.expires_at = static_cast<std::int64_t>(FieldU64(op, "expires_at"));
    KRAY_TRY(CheckExpiry(ctx, o.expires_at));
    if (o.item.kind == ItemKind::kInscription) {
      auto ins = LoadInscription(ctx.Sql(), o.item.inscription_id);
      if (!ins.ok()) return std::move(ins).error();
      if (!ins->has_value())
        return Error::NotFound("inscription_not_found", "no inscription " + o.item.inscription_id + " on L2");
      if ((*ins)->owner == op.signer)
        return Error::Conflict("own_inscription", "inscription " + o.item.inscription_id + " is already yours");
    }
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    o.fee_bps = config->fee_bps;
    auto id = NextOfferId(ctx.Sql());
    if (!id.ok()) return std::move(id).error();
    o.offer_id = *id;
    // The price leaves the buyer's spendable balance; the module holds it.
    KRAY_TRY(RequireKray(ctx, op.signer, o.price, gas()));
    KRAY_TRY(ctx.Debit(op.signer, kGasAsset, state::Bucket::kAvailable, o.price));
    KRAY_TRY(InsertOffer(ctx.Sql(), o));
    ctx.Touch(OfferLeaf(o.offer_id));
    ctx.SetResult("offer_id", std::to_string(o.offer_id));
    ctx.SetResult("fee_bps", std::to_string(o.fee_bps));
    return Ok();
  }
};

// The owner of the item accepts: the item goes to the offer's buyer, the
// escrowed price to the owner (minus the fee), at once.
class OfferAcceptOp : public state::OperationType {
 public:
  std::string_view name() const override { return kOfferAcceptOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "seller_account"; }
  Amount gas() const override { return GasFor(TxType::kMarketBuy); }
  Status Check(const ChainParams&, const state::Operation& op) const override { return CheckOfferId(op); }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto o = FindOffer(ctx, op);
    if (!o.ok()) return std::move(o).error();
    KRAY_TRY(NotClosed(*o));
    if (o->ExpiredAt(ctx.now()))
      return Error::Conflict("offer_expired",
                             "offer " + std::to_string(o->offer_id) + " expired at " + std::to_string(o->expires_at));
    if (o->buyer == op.signer)
      return Error::Conflict("own_offer", "offer " + std::to_string(o->offer_id) + " is your own");
    if (o->item.kind == ItemKind::kInscription) {
      auto ins = LoadInscription(ctx.Sql(), o->item.inscription_id);
      if (!ins.ok()) return std::move(ins).error();
      if (!ins->has_value())
        return Error::NotFound("inscription_not_found", "no inscription " + o->item.inscription_id + " on L2");
      if ((*ins)->owner != op.signer)
        return Error::Conflict("not_owner", "inscription " + o->item.inscription_id + " is not owned by " + op.signer);
      if ((*ins)->listing_id != 0)
        return Error::Conflict("inscription_escrowed", "inscription " + o->item.inscription_id +
                                                           " is escrowed by listing " +
                                                           std::to_string((*ins)->listing_id) + ": cancel it first");
      KRAY_TRY(UpdateInscription(ctx.Sql(), o->item.inscription_id, o->buyer, 0));
      ctx.Touch(InscriptionLeaf(o->item.inscription_id));
    } else {
      KRAY_TRY(ctx.Debit(op.signer, o->item.asset, state::Bucket::kAvailable, o->item.amount));
      KRAY_TRY(ctx.Credit(o->buyer, o->item.asset, state::Bucket::kAvailable, o->item.amount));
    }
    auto fee = PayProceeds(ctx, op.signer, o->price, o->fee_bps);
    if (!fee.ok()) return std::move(fee).error();
    KRAY_TRY(CloseOffer(ctx.Sql(), o->offer_id, OfferStatus::kAccepted, op.signer, ctx.now()));
    KRAY_TRY(AddVolume(ctx.Sql(), o->item.kind, o->price));
    ctx.Touch(OfferLeaf(o->offer_id));
    ctx.SetResult("offer_id", std::to_string(o->offer_id));
    ctx.SetResult("price_credits", std::to_string(o->price));
    ctx.SetResult("fee_credits", std::to_string(*fee));
    ctx.SetResult("buyer", o->buyer);
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"offer_id", FieldKind::kUint}}};
};

// The buyer withdraws an offer (active or expired) and gets the price back.
class OfferCancelOp : public state::OperationType {
 public:
  std::string_view name() const override { return kOfferCancelOp; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  std::string_view signer_field() const override { return "buyer_account"; }
  Amount gas() const override { return 2; }
  Status Check(const ChainParams&, const state::Operation& op) const override { return CheckOfferId(op); }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto o = FindOffer(ctx, op);
    if (!o.ok()) return std::move(o).error();
    if (o->buyer != op.signer)
      return Error::Conflict("not_buyer", "offer " + std::to_string(o->offer_id) + " belongs to " + o->buyer);
    KRAY_TRY(NotClosed(*o));
    const bool expired = o->ExpiredAt(ctx.now());
    KRAY_TRY(ctx.Credit(o->buyer, kGasAsset, state::Bucket::kAvailable, o->price));
    KRAY_TRY(CloseOffer(ctx.Sql(), o->offer_id, OfferStatus::kCancelled, "", ctx.now()));
    ctx.Touch(OfferLeaf(o->offer_id));
    ctx.SetResult("offer_id", std::to_string(o->offer_id));
    ctx.SetResult("was_expired", expired ? "true" : "false");
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"offer_id", FieldKind::kUint}}};
};

}  // namespace

const state::OperationType& OfferOperation() {
  static const OfferOp op;
  return op;
}
const state::OperationType& OfferAcceptOperation() {
  static const OfferAcceptOp op;
  return op;
}
const state::OperationType& OfferCancelOperation() {
  static const OfferCancelOp op;
  return op;
}

}  // namespace kray::market::internal
