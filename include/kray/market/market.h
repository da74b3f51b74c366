// The marketplace module (docs/MARKET.md): what an account owns on L2 — rune
// balances and inscriptions — sold for KRAY credits through signed,
// replayable operations whose escrows are conservation terms and committed
// leaves.
//
//   market_list          seller_account; inscription_id | asset + amount,
//                        price_credits, expires_at (0 = never)      gas 10
//   market_buy           buyer_account; listing_id                  gas 5
//   market_cancel        seller_account; listing_id (also reclaims an
//                        expired listing)                           gas 2
//   market_sweep         buyer_account; asset, max_listings (1..50),
//                        max_total_credits                          gas 20
//   market_offer         buyer_account; inscription_id | asset + amount,
//                        price_credits, expires_at                  gas 10
//   market_offer_accept  seller_account; offer_id                   gas 5
//   market_offer_cancel  buyer_account; offer_id (also reclaims an
//                        expired offer)                             gas 2
//   inscription_transfer from_account; inscription_id, to_account   gas 1
//
// Every one is signed (v1) by the account that gives something up, and
// consumes its nonce. Leaves: 0x20 config, 0x21 inscription, 0x22 listing,
// 0x23 offer (docs/ROLLUP.md). Audit: escrowed rune amounts
// ("market.listings") and escrowed offer prices ("market.offers"); the
// inscription registry is checked for consistency by the same audit.
// Genesis section "market": {"fee_bps", "fee_account", "inscriptions": […]}.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kray/state/module.h"
#include "kray/store/database.h"

namespace kray::market {

inline constexpr std::string_view kModuleName = "market";

inline constexpr std::string_view kListOp = "market_list";
inline constexpr std::string_view kBuyOp = "market_buy";
inline constexpr std::string_view kCancelOp = "market_cancel";
inline constexpr std::string_view kSweepOp = "market_sweep";
inline constexpr std::string_view kOfferOp = "market_offer";
inline constexpr std::string_view kOfferAcceptOp = "market_offer_accept";
inline constexpr std::string_view kOfferCancelOp = "market_offer_cancel";
inline constexpr std::string_view kInscriptionTransferOp = "inscription_transfer";

inline constexpr std::uint8_t kConfigLeaf = 0x20;       // id "config"
inline constexpr std::uint8_t kInscriptionLeaf = 0x21;  // id = inscription id
inline constexpr std::uint8_t kListingLeaf = 0x22;      // id = decimal listing id
inline constexpr std::uint8_t kOfferLeaf = 0x23;        // id = decimal offer id

inline constexpr std::uint32_t kMaxFeeBps = 10000;
inline constexpr std::uint64_t kMaxSweepListings = 50;

// The module (one instance; register it with state::ModuleRegistry::Add).
const state::Module& MarketModule();
// schema/market/*.sql, embedded at build time.
std::span<const store::Migration> MarketMigrations();

// True for ord's inscription id form: 64 lowercase hex (the reveal txid),
// 'i', and a canonical decimal index < 2^32.
bool IsInscriptionId(std::string_view id);

}  // namespace kray::market
