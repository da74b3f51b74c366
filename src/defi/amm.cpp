// The AMM's arithmetic (see include/kray/defi/amm.h). Every formula is
// Uniswap v2's; the comments name the function it comes from.
#include "kray/defi/amm.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

namespace kray::defi {
namespace {

constexpr u128 kU128Max = std::numeric_limits<u128>::max();

Error Overflow(std::string_view what) {
  return Error::Invalid("amount_overflow", std::string(what) + " does not fit: amounts too large for this pool");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::uint64_t ISqrt(u128 v) {
  if (v == 0) return 0;
  // Newton's iteration from above: x0 = 2^ceil(bits/2) >= sqrt(v); the
  // sequence decreases to floor(sqrt(v)) and stops there.
  int bits = 0;
  for (u128 t = v; t != 0; t >>= 1) ++bits;
  u128 x = static_cast<u128>(1) << ((bits + 1) / 2);
  while (true) {
    u128 y = (x + v / x) / 2;
    if (y >= x) break;
    x = y;
  }
  return static_cast<std::uint64_t>(x);
}

Result<Amount> GetAmountOut(Amount amount_in, Amount reserve_in, Amount reserve_out) {
  if (amount_in == 0) return Error::Invalid("invalid_amount", "amount_in must be greater than zero");
  if (reserve_in == 0 || reserve_out == 0)
    return Error::Conflict("insufficient_liquidity", "the pool has an empty reserve");
  const u128 in_with_fee = static_cast<u128>(amount_in) * kFeeNumerator;  // < 2^73
  if (in_with_fee > kU128Max / reserve_out) return Overflow("amount_in * 997 * reserve_out");
  const u128 numerator = in_with_fee * reserve_out;
  const u128 denominator = static_cast<u128>(reserve_in) * kFeeDenominator + in_with_fee;  // < 2^74
  return static_cast<Amount>(numerator / denominator);                                     // < reserve_out
}

Result<Amount> QuoteAmount(Amount amount_a, Amount reserve_a, Amount reserve_b) {
  if (amount_a == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
  if (reserve_a == 0 || reserve_b == 0)
    return Error::Conflict("insufficient_liquidity", "the pool has an empty reserve");
  auto b = MulDiv(amount_a, reserve_b, reserve_a);
  if (!b) return Overflow("amount * reserve_b / reserve_a");
  return *b;
}

Result<DepositAmounts> OptimalDeposit(Amount desired_a, Amount desired_b, Amount min_a, Amount min_b, Amount reserve_a,
                                      Amount reserve_b) {
  // Router02._addLiquidity: take all of A if the matching B fits in what the
  // depositor offers, otherwise all of B and the matching A.
  auto b_optimal = QuoteAmount(desired_a, reserve_a, reserve_b);
  if (!b_optimal.ok() && b_optimal.error().code != "amount_overflow") return std::move(b_optimal).error();
  if (b_optimal.ok() && *b_optimal <= desired_b) {
    if (*b_optimal < min_b)
      return Error::Conflict("slippage_exceeded", "amount_b would be " + std::to_string(*b_optimal) +
                                                      ", below min_amount_b " + std::to_string(min_b))
          .With("amount_b", std::to_string(*b_optimal))
          .With("min_amount_b", std::to_string(min_b));
    return DepositAmounts{desired_a, *b_optimal};
  }
  auto a_optimal = QuoteAmount(desired_b, reserve_b, reserve_a);
  if (!a_optimal.ok()) return std::move(a_optimal).error();
  if (*a_optimal > desired_a) return Error::Internal("optimal amount_a exceeds amount_a");  // Router02's assert
  if (*a_optimal < min_a)
    return Error::Conflict("slippage_exceeded", "amount_a would be " + std::to_string(*a_optimal) +
                                                    ", below min_amount_a " + std::to_string(min_a))
        .With("amount_a", std::to_string(*a_optimal))
        .With("min_amount_a", std::to_string(min_a));
  return DepositAmounts{*a_optimal, desired_b};
}

Result<Amount> InitialLiquidity(Amount a, Amount b) {
  const std::uint64_t root = ISqrt(static_cast<u128>(a) * b);  // a*b < 2^126
  if (root <= kMinimumLiquidity) {
    return Error::Invalid("insufficient_initial_liquidity",
                          "the first deposit must have isqrt(amount_a * amount_b) > 1000 (it is " +
                              std::to_string(root) + "): 1000 LP units are locked forever");
  }
  return root - kMinimumLiquidity;
}

Result<Amount> MintLiquidity(Amount a, Amount b, Amount reserve_a, Amount reserve_b, Amount supply) {
  if (reserve_a == 0 || reserve_b == 0)
    return Error::Conflict("insufficient_liquidity", "the pool has an empty reserve");
  const u128 la = static_cast<u128>(a) * supply / reserve_a;  // a*S < 2^126
  const u128 lb = static_cast<u128>(b) * supply / reserve_b;
  const u128 liquidity = std::min(la, lb);
  if (liquidity > kMaxAmount) return Overflow("LP units minted");
  if (liquidity == 0)
    return Error::Conflict("insufficient_liquidity_minted", "the deposit is too small to mint one LP unit");
  return static_cast<Amount>(liquidity);
}

Result<DepositAmounts> BurnAmounts(Amount liquidity, Amount reserve_a, Amount reserve_b, Amount supply) {
  if (liquidity == 0 || liquidity > supply)
    return Error::Invalid("invalid_amount", "liquidity must be between 1 and the pool's LP supply");
  DepositAmounts out;
  out.a = static_cast<Amount>(static_cast<u128>(liquidity) * reserve_a / supply);  // <= reserve_a
  out.b = static_cast<Amount>(static_cast<u128>(liquidity) * reserve_b / supply);
  if (out.a == 0 || out.b == 0) {
    return Error::Conflict("insufficient_liquidity_burned",
                           "removing " + std::to_string(liquidity) + " LP units would pay out nothing of one side");
  }
  return out;
}

Amount ProtocolFeeLiquidity(Amount reserve_a, Amount reserve_b, u128 k_last, Amount supply) {
  if (k_last == 0) return 0;
  const u128 root_k = ISqrt(static_cast<u128>(reserve_a) * reserve_b);
  const u128 root_k_last = ISqrt(k_last);
  if (root_k <= root_k_last) return 0;
  const u128 numerator = static_cast<u128>(supply) * (root_k - root_k_last);  // < 2^126
  const u128 denominator = root_k * 5 + root_k_last;
  return static_cast<Amount>(numerator / denominator);  // <= S/5
}

U256 EncodePriceUQ112(Amount numerator, Amount denominator) {
  return U256::DivMod(U256(numerator) << 112, U256(denominator)).first;
}

std::string PoolId(std::string_view asset_x, std::string_view asset_y) {
  return OrderPair(asset_x, asset_y).id;
}

PoolPair OrderPair(std::string_view asset_x, std::string_view asset_y) {
  bool swap = asset_y == kGasAsset || (asset_x != kGasAsset && asset_y < asset_x);
  PoolPair p;
  p.asset_a = std::string(swap ? asset_y : asset_x);
  p.asset_b = std::string(swap ? asset_x : asset_y);
  p.id = "pool_" + Lower(p.asset_a) + "_" + Lower(p.asset_b);
  return p;
}

Result<PoolPair> ParsePoolId(const ChainParams& params, std::string_view id) {
  // Symbols may in principle contain '_': compare with every configured
  // pair's id instead of splitting the string.
  for (std::size_t i = 0; i < params.assets.size(); ++i)
    for (std::size_t j = i + 1; j < params.assets.size(); ++j) {
      PoolPair p = OrderPair(params.assets[i].symbol, params.assets[j].symbol);
      if (p.id == id) return p;
    }
  return Error::Invalid("invalid_pool_id", "'" + std::string(id) +
                                               "' is not a pool id: pool_ + two configured asset symbols in lower "
                                               "case, KRAY first, otherwise alphabetical (pool_kray_btc)");
}

std::string LpAsset(std::string_view pool_id) {
  return "LP:" + std::string(pool_id);
}

bool IsLpAssetSymbol(std::string_view symbol) {
  constexpr std::string_view kPrefix = "LP:pool_";
  if (symbol.size() <= kPrefix.size() || symbol.size() > 64 || symbol.substr(0, kPrefix.size()) != kPrefix)
    return false;
  std::string_view rest = symbol.substr(kPrefix.size());
  if (rest.find('_') == std::string_view::npos || rest.front() == '_' || rest.back() == '_') return false;
  return std::all_of(rest.begin(), rest.end(),
                     [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

Result<std::vector<std::string>> ParsePath(const ChainParams& params, std::string_view path) {
  const auto hops = static_cast<std::size_t>(std::count(path.begin(), path.end(), ','));
  if (hops < 1 || hops > kMaxRouteHops)
    return Error::Invalid("invalid_path", "path must name 2 to " + std::to_string(kMaxRouteHops + 1) +
                                              " assets separated by commas (at most " + std::to_string(kMaxRouteHops) +
                                              " pools), e.g. DOG,KRAY,BTC");
  std::vector<std::string> tokens;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= hops; ++i) {
    std::size_t comma = path.find(',', start);
    std::string_view t = path.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (t.empty()) return Error::Invalid("invalid_path", "path has an empty asset (DOG,KRAY,BTC)");
    tokens.emplace_back(t);
    start = comma + 1;
  }
  std::set<std::string> pools;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!FindAsset(params.assets, tokens[i]))
      return Error::Invalid("unknown_asset", "path: '" + tokens[i] + "' is not a configured asset");
    if (i == 0) continue;
    if (tokens[i] == tokens[i - 1])
      return Error::Invalid("same_token", "path: " + tokens[i] + " follows itself (a pool has two different assets)");
    if (!pools.insert(PoolId(tokens[i - 1], tokens[i])).second)
      return Error::Invalid("repeated_pool", "path: pool " + PoolId(tokens[i - 1], tokens[i]) +
                                                 " is used twice (a route through the same pool only pays its fee "
                                                 "again)");
  }
  return tokens;
}

}  // namespace kray::defi
