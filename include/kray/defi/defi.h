// The defi module: constant-product AMM pools (Uniswap v2 semantics) between
// any two configured assets, as signed, replayable operations of the module
// host (docs/ARCHITECTURE.md, "The module host"; docs/API.md, "DeFi").
//
// Operations (all signed v1 by the account that pays; gas from the original
// schedule, kray::GasFor):
//   pool_create       creator_account; token_a, token_b, amount_a, amount_b    gas 20
//   liquidity_add     account_id; pool_id, amount_a, amount_b,
//                     min_amount_a, min_amount_b                                gas 20
//   liquidity_remove  account_id; pool_id, liquidity, min_amount_a,
//                     min_amount_b                                              gas 20
//   swap              account_id; pool_id, token_in, amount_in, min_amount_out  gas 5
//   swap_route        account_id; path, amount_in, min_amount_out               gas 20
// each with an optional `deadline` (unix seconds, Router02's `ensure`).
// `a`/`b` in liquidity operations are the pool's own order (pool_kray_btc: a
// = KRAY, b = BTC).
//
// State: tables defi_pools (committed: leaf type 0x10 per pool),
// defi_config (the protocol fee account, committed: leaf 0x11), and two read
// indexes replay rebuilds (defi_observations: the cumulative prices at each
// update, for TWAPs; defi_swaps: traded amounts, for volume).
// LP shares of pool P are the asset "LP:P", held in balances like any asset.
// Conservation terms (Audit): each pool's reserves ("defi.pools"), the
// 1,000 LP units locked by each pool's first deposit
// ("defi.locked_liquidity") and the LP units removals returned to the module
// ("defi.retired_liquidity", issued again before new ones are minted); so
// for an LP asset balances + locked + retired == minted (never burned).
//
// Genesis section (optional): {"protocol_fee_account": "<id or address>"}
// turns on Uniswap's protocol fee (1/6 of the LP fee growth, minted as LP
// units to that account on liquidity events, as _mintFee). Off by default.
//
// Reads take a read connection (Ledger::WithReader); they see the last
// committed group. Thread-safety: the module is immutable; reads share no state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/defi/amm.h"
#include "kray/defi/uint256.h"
#include "kray/state/module.h"

namespace kray::store {
class Database;
}

namespace kray::defi {

inline constexpr std::uint8_t kPoolLeaf = 0x10;
inline constexpr std::uint8_t kProtocolFeeLeaf = 0x11;
inline constexpr std::string_view kProtocolFeeLeafId = "protocol_fee";

inline constexpr std::string_view kPoolCreateOp = "pool_create";
inline constexpr std::string_view kLiquidityAddOp = "liquidity_add";
inline constexpr std::string_view kLiquidityRemoveOp = "liquidity_remove";
inline constexpr std::string_view kSwapOp = "swap";
inline constexpr std::string_view kSwapRouteOp = "swap_route";

// Quotes' minimum_received when the request names no slippage: 0.5%.
inline constexpr std::uint32_t kDefaultSlippageBps = 50;

const state::Module& DefiModule();
// schema/defi/*.sql, embedded at build time.
std::span<const store::Migration> DefiMigrations();

struct Pool {
  std::string pool_id, asset_a, asset_b;  // a, b in pool order (amm.h OrderPair)
  Amount reserve_a = 0, reserve_b = 0;
  Amount lp_supply = 0;  // total LP units, the 1,000 locked ones included
  // LP units returned by removals, held by the module and issued again
  // before any new ones are minted, so the LP asset's minted counter never
  // passes the largest supply the pool ever had (add/remove cycles cannot
  // exhaust it). minted(LP) == lp_supply + lp_retired; burned(LP) == 0.
  Amount lp_retired = 0;
  // reserve_a * reserve_b right after the last liquidity event while the
  // protocol fee is on (UniswapV2Pair.kLast); 0 when it is off.
  u128 k_last = 0;
  // Uniswap v2's accumulators: sum over seconds of UQ112x112(reserve_b /
  // reserve_a) (price of a in b) and UQ112x112(reserve_a / reserve_b),
  // modulo 2^256, advanced by the first operation of each second.
  U256 price_a_cumulative, price_b_cumulative;
  std::int64_t timestamp_last = 0;  // time of the last operation on the pool
  std::int64_t created_at = 0;
};

// Every pool, by id. Store errors only.
Result<std::vector<Pool>> ListPools(store::Database& db);
// Invalid "invalid_pool_id" (not the id of a configured pair), NotFound
// "pool_not_found".
Result<Pool> GetPool(store::Database& db, const ChainParams& params, std::string_view pool_id);
// The protocol fee account, or "" when the fee is off.
Result<std::string> ProtocolFeeAccount(store::Database& db);

// A pool as GET /api/defi/pool/:id shows it. Prices and TVL are display
// strings computed exactly from the integers (whole units, the assets'
// decimals applied, truncated to 18 fractional digits).
struct PoolDetails {
  Pool pool;
  std::string lp_asset;
  std::string price_a_in_b, price_b_in_a;   // spot: reserve ratio
  std::string tvl_a, tvl_b;                 // reserves in whole units
  u128 volume_24h_a = 0, volume_24h_b = 0;  // traded in or out over (now-86400, now]
  std::uint64_t swaps_24h = 0, swap_count = 0;
  bool protocol_fee = false;
};
Result<PoolDetails> DescribePool(store::Database& db, const ChainParams& params, const Pool& pool, std::int64_t now);

// POST /api/defi/quote: a swap of amount_in along one pool (pool_id +
// token_in) or a path ("DOG,KRAY,BTC"), against the committed reserves.
struct QuoteRequest {
  std::string pool_id, token_in;  // either these two ...
  std::string path;               // ... or this
  Amount amount_in = 0;
  std::uint32_t slippage_bps = kDefaultSlippageBps;  // 0..10000
};
struct Quote {
  std::vector<std::string> path;   // assets, token_in first
  std::vector<std::string> pools;  // one per hop
  std::vector<Amount> amounts;     // amount at each step, amount_in first (getAmountsOut)
  Amount amount_in = 0, amount_out = 0;
  Amount minimum_received = 0;  // floor(amount_out * (10000 - slippage_bps) / 10000)
  std::uint32_t slippage_bps = 0;
  // Whole units of token_out per whole unit of token_in (decimals applied).
  std::string spot_price;       // product of the hops' reserve ratios, before the trade
  std::string effective_price;  // amount_out / amount_in
  // 100 * (spot - effective) / spot, the fee included, as a percentage.
  std::string price_impact;
};
// Errors as the swap's: invalid_pool_id, pool_not_found, token_not_in_pool,
// invalid_path, unknown_asset, same_token, repeated_pool, invalid_amount,
// amount_overflow; invalid_field for slippage_bps > 10000 or neither/both of
// pool_id and path.
Result<Quote> QuoteSwap(store::Database& db, const ChainParams& params, const QuoteRequest& request);

// GET /api/defi/pool/:id/twap?window=: the time-weighted average prices over
// [now - window, now] from the cumulative prices (UniswapV2OracleLibrary's
// counterfactual accumulation since the last update). A window reaching
// before the pool's creation starts at its creation (`from` says so).
struct Twap {
  std::string pool_id;
  std::int64_t from = 0, to = 0;  // the window actually averaged
  std::int64_t requested_window = 0;
  U256 average_a_uq112, average_b_uq112;   // UQ112x112, base units of b per a and of a per b
  std::string price_a_in_b, price_b_in_a;  // whole units, as PoolDetails
};
// Invalid "invalid_field" for window < 1; Conflict "insufficient_history"
// when the pool is younger than one second at `now`.
Result<Twap> GetTwap(store::Database& db, const ChainParams& params, std::string_view pool_id, std::int64_t window,
                     std::int64_t now);

}  // namespace kray::defi
