// Internal: what the marketplace's operations share — reading canonical
// fields, the item an operation names, the fee split, and the KRAY a buyer
// must have. Everything here runs inside an operation's unit of work.
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <string_view>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/market/types.h"
#include "kray/state/module.h"
#include "kray/state/op_context.h"
#include "kray/state/operation.h"

namespace kray::market::internal {

inline constexpr std::size_t kMaxInscriptionIdLen = 80;  // 64 hex + 'i' + a u32 index, with room

// The fields of market_list and market_offer (signed exactly as named).
inline constexpr std::array<state::FieldSpec, 5> kItemFields = {{
    {"amount", state::FieldKind::kAmount, false},
    {"asset", state::FieldKind::kAsset, false},
    {"expires_at", state::FieldKind::kUint, false, "0"},
    {"inscription_id", state::FieldKind::kId, false, std::nullopt, {}, kMaxInscriptionIdLen},
    {"price_credits", state::FieldKind::kAmount},
}};

// A canonical decimal field (0 when absent: Check makes absence an error
// where it matters).
std::uint64_t FieldU64(const state::Operation& op, std::string_view key);

// Invalid "invalid_evidence" unless every evidence key is in `allowed`.
Status OnlyEvidence(const state::Operation& op, std::initializer_list<std::string_view> allowed);

// True for what the marketplace trades as a rune: a configured asset other
// than the gas token (the currency of every price) and BTC (sats are not a
// rune). Module-issued assets (LP shares) are not configured assets.
bool IsTradableRune(const ChainParams& params, std::string_view asset);

// The item of a market_list / market_offer: `inscription_id`, or `asset` and
// `amount`. Stateless (Check and Apply alike). Errors (400): missing_field,
// invalid_field (both kinds given, amount with an inscription),
// invalid_inscription_id, invalid_amount (amount 0), not_a_rune
// (!IsTradableRune).
Result<Item> ItemFromFields(const ChainParams& params, const state::Operation& op);

// Check of market_list / market_offer: the item, price_credits > 0, no evidence.
Status CheckItemAndPrice(const ChainParams& params, const state::Operation& op);

// Invalid "invalid_expiry" unless expires_at is 0 or later than now.
Status CheckExpiry(const state::OpContext& ctx, std::int64_t expires_at);

// Conflict "insufficient_balance" unless `account` has price + gas KRAY
// available (checked before any write, so the message names the whole need).
Status RequireKray(state::OpContext& ctx, std::string_view account, Amount price, Amount gas);

// Pays `price` credits (already taken from the buyer) to `seller`, minus the
// fee (FeeFor(price, fee_bps)) which goes to the configured fee account.
// Returns the fee.
Result<Amount> PayProceeds(state::OpContext& ctx, std::string_view seller, Amount price, std::uint32_t fee_bps);

// Leaf ids.
state::LeafId ListingLeaf(std::uint64_t id);
state::LeafId OfferLeaf(std::uint64_t id);
state::LeafId InscriptionLeaf(std::string_view id);

// The operation types (ops_*.cpp).
const state::OperationType& ListOperation();
const state::OperationType& BuyOperation();
const state::OperationType& CancelOperation();
const state::OperationType& SweepOperation();
const state::OperationType& OfferOperation();
const state::OperationType& OfferAcceptOperation();
const state::OperationType& OfferCancelOperation();
const state::OperationType& InscriptionTransferOperation();

}  // namespace kray::market::internal
