// Shared pieces of the marketplace's operations (see ops_common.h).
#include "ops_common.h"

#include "kray/core/asset.h"
#include "kray/market/market.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "store.h"

namespace kray::market::internal {

std::uint64_t FieldU64(const state::Operation& op, std::string_view key) {
  auto v = op.Field(key);
  if (!v) return 0;
  auto a = ParseAmount(*v);
  return a.ok() ? *a : 0;
}

Status OnlyEvidence(const state::Operation& op, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : op.evidence) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok)
      return Error::Invalid("invalid_evidence", "operation '" + op.type + "' carries unexpected evidence '" + k + "'");
  }
  return Ok();
}

bool IsTradableRune(const ChainParams& params, std::string_view asset) {
  return FindAsset(params.assets, asset) != nullptr && asset != kGasAsset && asset != "BTC";
}

Result<Item> ItemFromFields(const ChainParams& params, const state::Operation& op) {
  auto inscription = op.Field("inscription_id");
  auto asset = op.Field("asset");
  auto amount = op.Field("amount");
  Item item;
  if (inscription && asset)
    return Error::Invalid("invalid_field", "name either inscription_id, or asset and amount, not both");
  if (inscription) {
    if (amount) return Error::Invalid("invalid_field", "amount is only for rune items");
    if (!IsInscriptionId(*inscription))
      return Error::Invalid("invalid_inscription_id",
                            "inscription_id must be <txid>i<index> (64 lowercase hex, 'i', a decimal index)");
    item.kind = ItemKind::kInscription;
    item.inscription_id = std::string(*inscription);
    return item;
  }
  if (!asset) return Error::Invalid("missing_field", "missing field 'inscription_id' (or 'asset' and 'amount')");
  if (!amount) return Error::Invalid("missing_field", "missing field 'amount'");
  if (!IsTradableRune(params, *asset))
    return Error::Invalid("not_a_rune", "'" + std::string(*asset) + "' is not a rune traded for " +
                                            std::string(kGasAsset) +
                                            " (the configured assets other than the gas token and BTC)");
  item.kind = ItemKind::kRune;
  item.asset = std::string(*asset);
  item.amount = FieldU64(op, "amount");
  if (item.amount == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
  return item;
}

Status CheckItemAndPrice(const ChainParams& params, const state::Operation& op) {
  auto item = ItemFromFields(params, op);
  if (!item.ok()) return std::move(item).error();
  if (FieldU64(op, "price_credits") == 0)
    return Error::Invalid("invalid_amount", "price_credits must be greater than zero");
  return OnlyEvidence(op, {});
}

Status CheckExpiry(const state::OpContext& ctx, std::int64_t expires_at) {
  if (expires_at != 0 && expires_at <= ctx.now())
    return Error::Invalid("invalid_expiry", "expires_at " + std::to_string(expires_at) +
                                                " is not after the operation's time " + std::to_string(ctx.now()) +
                                                " (0: never expires)");
  return Ok();
}

Status RequireKray(state::OpContext& ctx, std::string_view account, Amount price, Amount gas) {
  auto bal = ctx.GetBalance(account, kGasAsset);
  if (!bal.ok()) return std::move(bal).error();
  auto need = CheckedAdd(price, gas);
  if (!need || bal->available < *need) {
    std::string need_text = need ? std::to_string(*need) : "more than 9223372036854775807";
    return Error::Conflict("insufficient_balance", "insufficient KRAY balance: need " + need_text + " (price " +
                                                       std::to_string(price) + " + gas " + std::to_string(gas) +
                                                       "), have " + std::to_string(bal->available));
  }
  return Ok();
}

Result<Amount> PayProceeds(state::OpContext& ctx, std::string_view seller, Amount price, std::uint32_t fee_bps) {
  Amount fee = FeeFor(price, fee_bps);
  if (fee > 0) {
    auto config = ReadConfig(ctx.Sql());
    if (!config.ok()) return std::move(config).error();
    if (config->fee_account.empty()) return Error::Internal("a market fee is due but no fee account is configured");
    KRAY_TRY(ctx.Credit(config->fee_account, kGasAsset, state::Bucket::kAvailable, fee));
  }
  if (price - fee > 0) KRAY_TRY(ctx.Credit(seller, kGasAsset, state::Bucket::kAvailable, price - fee));
  return fee;
}

state::LeafId ListingLeaf(std::uint64_t id) {
  return state::LeafId{kListingLeaf, std::to_string(id)};
}

state::LeafId OfferLeaf(std::uint64_t id) {
  return state::LeafId{kOfferLeaf, std::to_string(id)};
}

state::LeafId InscriptionLeaf(std::string_view id) {
  return state::LeafId{kInscriptionLeaf, std::string(id)};
}

}  // namespace kray::market::internal
