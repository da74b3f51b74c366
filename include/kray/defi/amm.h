// The constant-product AMM's arithmetic, exactly Uniswap v2's, on u64 amounts
// with checked u128 intermediates. Pure functions: no state, no clock; any
// thread. An intermediate or a result that does not fit is Invalid
// "amount_overflow" (400), never a wrapped or saturated number.
//
// References (read for the formulas; none of their code is used):
//   UniswapV2Library.sol  getAmountOut, quote
//   UniswapV2Pair.sol     mint (MINIMUM_LIQUIDITY, sqrt), burn, _mintFee, _update
//   UniswapV2Router02.sol _addLiquidity, swapExactTokensForTokens
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/amount.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/defi/uint256.h"

namespace kray::defi {

// UniswapV2Pair.MINIMUM_LIQUIDITY: LP units locked forever by the first deposit.
inline constexpr Amount kMinimumLiquidity = 1000;
// 0.30% swap fee to liquidity providers: amountIn * 997 / 1000 is traded.
inline constexpr std::uint64_t kFeeNumerator = 997;
inline constexpr std::uint64_t kFeeDenominator = 1000;
inline constexpr int kFeeBasisPoints = 30;
// A route has at most this many hops (pools). Bounds the display arithmetic
// of a route's spot price and price impact to 256 bits (docs/API.md).
inline constexpr std::size_t kMaxRouteHops = 3;

// floor(sqrt(v)) (Uniswap's Math.sqrt, the Babylonian method, gives the same).
std::uint64_t ISqrt(u128 v);

// UniswapV2Library.getAmountOut:
//   amountIn*997*reserveOut / (reserveIn*1000 + amountIn*997), floored.
// Invalid "invalid_amount" for amount_in 0; Conflict "insufficient_liquidity"
// for an empty reserve; Invalid "amount_overflow" if amountIn*997*reserveOut
// exceeds 128 bits.
Result<Amount> GetAmountOut(Amount amount_in, Amount reserve_in, Amount reserve_out);

// UniswapV2Library.quote: amountA * reserveB / reserveA, floored. Invalid
// "amount_overflow" if the result exceeds 2^63-1.
Result<Amount> QuoteAmount(Amount amount_a, Amount reserve_a, Amount reserve_b);

// UniswapV2Router02._addLiquidity for an existing pool: the amounts actually
// deposited, at the pool's ratio, never more than desired. Conflict
// "slippage_exceeded" (naming which minimum) when the optimal amount of a
// side is below its minimum.
struct DepositAmounts {
  Amount a = 0, b = 0;
};
Result<DepositAmounts> OptimalDeposit(Amount desired_a, Amount desired_b, Amount min_a, Amount min_b, Amount reserve_a,
                                      Amount reserve_b);

// UniswapV2Pair.mint, first deposit: isqrt(a*b) - MINIMUM_LIQUIDITY LP units
// to the depositor (the pool's total supply is isqrt(a*b)). Invalid
// "insufficient_initial_liquidity" unless isqrt(a*b) > MINIMUM_LIQUIDITY.
Result<Amount> InitialLiquidity(Amount a, Amount b);

// UniswapV2Pair.mint, later deposits: min(a*S/ra, b*S/rb), floored. Conflict
// "insufficient_liquidity_minted" if that is 0; "amount_overflow" if it
// exceeds 2^63-1.
Result<Amount> MintLiquidity(Amount a, Amount b, Amount reserve_a, Amount reserve_b, Amount supply);

// UniswapV2Pair.burn: liquidity * reserve / S per side, floored (pro rata;
// rounding keeps the remainder in the pool). Conflict
// "insufficient_liquidity_burned" if either side is 0; Invalid
// "invalid_amount" if liquidity is 0 or above S.
Result<DepositAmounts> BurnAmounts(Amount liquidity, Amount reserve_a, Amount reserve_b, Amount supply);

// UniswapV2Pair._mintFee: LP units minted to the protocol fee account on a
// liquidity event, 1/6 of the growth of sqrt(k) since k_last:
//   S * (sqrt(k) - sqrt(k_last)) / (5*sqrt(k) + sqrt(k_last)); 0 if k_last is 0
// or k did not grow.
Amount ProtocolFeeLiquidity(Amount reserve_a, Amount reserve_b, u128 k_last, Amount supply);

// UQ112x112.encode(numerator).uqdiv(denominator): floor(numerator * 2^112 /
// denominator) (denominator > 0).
U256 EncodePriceUQ112(Amount numerator, Amount denominator);

// --- pools and their assets ---

// Pool id of a pair: "pool_" + lower-case symbols, KRAY first, otherwise
// alphabetical ("pool_kray_btc", "pool_btc_dog").
std::string PoolId(std::string_view asset_x, std::string_view asset_y);
// The pair in pool order (a first): KRAY first, otherwise bytewise.
struct PoolPair {
  std::string asset_a, asset_b;
  std::string id;
};
PoolPair OrderPair(std::string_view asset_x, std::string_view asset_y);
// The pair whose PoolId is `id`, among the configured assets. Invalid
// "invalid_pool_id" if `id` is not the id of a pair of configured assets.
Result<PoolPair> ParsePoolId(const ChainParams& params, std::string_view id);
// LP shares of a pool are the asset "LP:<pool_id>" ("LP:pool_kray_btc").
std::string LpAsset(std::string_view pool_id);
// True if `symbol` has the form of an LP asset ("LP:pool_" + lower-case
// letters, digits and '_'). Which pools exist is state, not syntax.
bool IsLpAssetSymbol(std::string_view symbol);

// A route path "DOG,KRAY,BTC" (Router02's `path` of tokens): 2..4
// configured assets, consecutive ones distinct, no pool used twice. Invalid
// "invalid_path", "unknown_asset", "same_token", "repeated_pool".
Result<std::vector<std::string>> ParsePath(const ChainParams& params, std::string_view path);

}  // namespace kray::defi
