// The defi module's read queries (see include/kray/defi/defi.h): pools with
// their display values, quotes, TWAPs. Display values are decimal strings
// computed exactly from the integers; nothing here moves value.
#include <algorithm>

#include "kray/defi/defi.h"
#include "pool_store.h"

namespace kray::defi {
namespace {

constexpr int kPriceDigits = 18;
constexpr int kPercentDigits = 6;
constexpr std::int64_t kDay = 86400;

int Decimals(const ChainParams& params, std::string_view asset) {
  const AssetInfo* info = FindAsset(params.assets, asset);
  return info ? info->decimals : 0;
}

// Whole units of `quote` per whole unit of `base`, for a ratio of base units.
std::string PriceString(const ChainParams& params, std::string_view base, std::string_view quote, const U256& num,
                        const U256& den) {
  return FormatRatio(num, den, Decimals(params, base) - Decimals(params, quote), kPriceDigits);
}

}  // namespace

Result<Pool> GetPool(store::Database& db, const ChainParams& params, std::string_view pool_id) {
  auto pair = ParsePoolId(params, pool_id);
  if (!pair.ok()) return std::move(pair).error();
  auto p = LoadPool(db, pool_id);
  if (!p.ok()) return std::move(p).error();
  if (!p->has_value()) return Error::NotFound("pool_not_found", "no pool " + std::string(pool_id));
  return std::move(**p);
}

Result<PoolDetails> DescribePool(store::Database& db, const ChainParams& params, const Pool& pool, std::int64_t now) {
  PoolDetails d;
  d.pool = pool;
  d.lp_asset = LpAsset(pool.pool_id);
  d.price_a_in_b = PriceString(params, pool.asset_a, pool.asset_b, U256(pool.reserve_b), U256(pool.reserve_a));
  d.price_b_in_a = PriceString(params, pool.asset_b, pool.asset_a, U256(pool.reserve_a), U256(pool.reserve_b));
  d.tvl_a = FormatUnits(pool.reserve_a, Decimals(params, pool.asset_a));
  d.tvl_b = FormatUnits(pool.reserve_b, Decimals(params, pool.asset_b));
  {
    // Summed here in 128 bits: SQLite's SUM() fails on 64-bit overflow.
    auto st = db.Use("SELECT amount_a, amount_b FROM defi_swaps WHERE pool_id=?1 AND timestamp>?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, pool.pool_id).Bind(2, now - kDay);
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
      d.volume_24h_a += static_cast<Amount>(r.Int64(0));
      d.volume_24h_b += static_cast<Amount>(r.Int64(1));
      ++d.swaps_24h;
      return Ok();
    }));
  }
  {
    auto st = db.Use("SELECT COUNT(*) FROM defi_swaps WHERE pool_id=?1");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, pool.pool_id);
    auto n = store::FirstRow<std::int64_t>(**st, [](const store::Statement& r) { return r.Int64(0); });
    if (!n.ok()) return std::move(n).error();
    d.swap_count = static_cast<std::uint64_t>(n->value_or(0));
  }
  auto fee_to = ProtocolFeeAccount(db);
  if (!fee_to.ok()) return std::move(fee_to).error();
  d.protocol_fee = !fee_to->empty();
  return d;
}

Result<Quote> QuoteSwap(store::Database& db, const ChainParams& params, const QuoteRequest& req) {
  if (req.slippage_bps > 10000)
    return Error::Invalid("invalid_field", "slippage_bps must be 0..10000 (basis points: 50 = 0.5%)");
  if (req.pool_id.empty() == req.path.empty())
    return Error::Invalid("invalid_field", "give pool_id and token_in, or path (not both)");
  if (req.amount_in == 0) return Error::Invalid("invalid_amount", "amount_in must be greater than zero");
  Quote q;
  if (!req.pool_id.empty()) {
    auto pair = ParsePoolId(params, req.pool_id);
    if (!pair.ok()) return std::move(pair).error();
    if (req.token_in != pair->asset_a && req.token_in != pair->asset_b)
      return Error::Invalid("token_not_in_pool", "token_in '" + req.token_in + "' is not an asset of " + pair->id);
    q.path = {req.token_in, req.token_in == pair->asset_a ? pair->asset_b : pair->asset_a};
  } else {
    auto path = ParsePath(params, req.path);
    if (!path.ok()) return std::move(path).error();
    q.path = std::move(*path);
  }
  // getAmountsOut, and the product of the reserve ratios before the trade.
  // At most kMaxRouteHops hops of 63-bit reserves: every product below fits
  // in 256 bits (3 * 63 + 63 = 252).
  U256 spot_num(1), spot_den(1);
  q.amounts = {req.amount_in};
  for (std::size_t i = 0; i + 1 < q.path.size(); ++i) {
    auto pool = GetPool(db, params, PoolId(q.path[i], q.path[i + 1]));
    if (!pool.ok()) return std::move(pool).error();
    const bool in_is_a = q.path[i] == pool->asset_a;
    const Amount r_in = in_is_a ? pool->reserve_a : pool->reserve_b;
    const Amount r_out = in_is_a ? pool->reserve_b : pool->reserve_a;
    Amount out = 0;
    if (q.amounts.back() > 0) {  // dust that rounded to 0 stays 0 (a swap would refuse it)
      auto o = GetAmountOut(q.amounts.back(), r_in, r_out);
      if (!o.ok()) return std::move(o).error();
      out = *o;
    }
    q.amounts.push_back(out);
    q.pools.push_back(pool->pool_id);
    spot_num = spot_num.MulU64(r_out);
    spot_den = spot_den.MulU64(r_in);
  }
  q.amount_in = req.amount_in;
  q.amount_out = q.amounts.back();
  q.slippage_bps = req.slippage_bps;
  q.minimum_received =
      static_cast<Amount>(static_cast<u128>(q.amount_out) * (10000 - req.slippage_bps) / 10000);  // floor
  const std::string& in = q.path.front();
  const std::string& out = q.path.back();
  q.spot_price = PriceString(params, in, out, spot_num, spot_den);
  q.effective_price = PriceString(params, in, out, U256(q.amount_out), U256(q.amount_in));
  // effective / spot = (out / in) / (spot_num / spot_den) = out*spot_den / (in*spot_num);
  // impact = 100 * (1 - effective / spot).
  const U256 eff = spot_den.MulU64(q.amount_out);
  const U256 spot = spot_num.MulU64(q.amount_in);
  q.price_impact = spot >= eff ? FormatRatio(spot - eff, spot, 2, kPercentDigits)
                               : "-" + FormatRatio(eff - spot, spot, 2, kPercentDigits);
  return q;
}

Result<Twap> GetTwap(store::Database& db, const ChainParams& params, std::string_view pool_id, std::int64_t window,
                     std::int64_t now) {
  if (window < 1) return Error::Invalid("invalid_field", "window must be at least 1 second");
  auto pool = GetPool(db, params, pool_id);
  if (!pool.ok()) return std::move(pool).error();
  Twap t;
  t.pool_id = pool->pool_id;
  t.requested_window = window;
  t.to = std::max(now, pool->timestamp_last);
  t.from = std::max(t.to - window, pool->created_at);
  if (t.to <= t.from)
    return Error::Conflict("insufficient_history", "pool " + pool->pool_id + " is younger than one second");
  auto c1 = CumulativesAt(db, *pool, t.to);
  if (!c1.ok()) return std::move(c1).error();
  auto c0 = CumulativesAt(db, *pool, t.from);
  if (!c0.ok()) return std::move(c0).error();
  const U256 seconds(static_cast<std::uint64_t>(t.to - t.from));
  // Differences modulo 2^256, as Uniswap's oracle reads them.
  t.average_a_uq112 = U256::DivMod(c1->a - c0->a, seconds).first;
  t.average_b_uq112 = U256::DivMod(c1->b - c0->b, seconds).first;
  const U256 one = U256(1) << 112;
  t.price_a_in_b = PriceString(params, pool->asset_a, pool->asset_b, t.average_a_uq112, one);
  t.price_b_in_a = PriceString(params, pool->asset_b, pool->asset_a, t.average_b_uq112, one);
  return t;
}

}  // namespace kray::defi
