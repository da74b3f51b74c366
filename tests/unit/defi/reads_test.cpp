// The price oracle (Uniswap v2's cumulative prices, advanced by the first
// operation of each second at the operation's recorded time) and the read
// queries: TWAPs over any window, quotes that equal the swaps they quote,
// pool details with exact display prices.
#include <gtest/gtest.h>

#include "chain.h"

namespace kray::defi {
namespace {

using testing::Chain;
using testing::kGenesisTime;

const test::TestKey kDev1 = test::DevAccount(1);
const test::TestKey kDev2 = test::DevAccount(2);
const std::int64_t t0 = kGenesisTime + 1000;

Result<state::Receipt> Swap(Chain& c, const std::string& token_in, Amount amount, std::int64_t ts) {
  return c.Run("swap", kDev2,
               {{"pool_id", "pool_kray_btc"},
                {"token_in", token_in},
                {"amount_in", std::to_string(amount)},
                {"min_amount_out", "0"}},
               ts);
}

void CreateKrayBtc(Chain& c, std::int64_t ts = t0) {
  auto r = c.Run("pool_create", kDev1,
                 {{"token_a", "KRAY"}, {"token_b", "BTC"}, {"amount_a", "1000000"}, {"amount_b", "2000000"}}, ts);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(DefiOracle, AccumulatesOnTheFirstOperationOfEachSecond) {
  Chain c;
  CreateKrayBtc(c);
  ASSERT_TRUE(Swap(c, "KRAY", 10000, t0).ok());  // same second as the creation: no accrual
  Pool p1 = *c.FindPool("pool_kray_btc");
  EXPECT_TRUE(p1.price_a_cumulative.IsZero());
  EXPECT_EQ(p1.timestamp_last, t0);
  // Ten seconds later the first operation adds the price that held (the
  // reserves after the first swap) times 10, before changing the reserves.
  ASSERT_TRUE(Swap(c, "BTC", 5000, t0 + 10).ok());
  Pool p2 = *c.FindPool("pool_kray_btc");
  const U256 price_a1 = EncodePriceUQ112(p1.reserve_b, p1.reserve_a);  // BTC per KRAY
  const U256 price_b1 = EncodePriceUQ112(p1.reserve_a, p1.reserve_b);
  EXPECT_EQ(p2.price_a_cumulative, price_a1.MulU64(10));
  EXPECT_EQ(p2.price_b_cumulative, price_b1.MulU64(10));
  EXPECT_EQ(p2.timestamp_last, t0 + 10);
  // A second operation in that second leaves the accumulators alone.
  ASSERT_TRUE(Swap(c, "KRAY", 777, t0 + 10).ok());
  Pool p3 = *c.FindPool("pool_kray_btc");
  EXPECT_EQ(p3.price_a_cumulative, p2.price_a_cumulative);
  const U256 price_a3 = EncodePriceUQ112(p3.reserve_b, p3.reserve_a);
  const U256 price_b3 = EncodePriceUQ112(p3.reserve_a, p3.reserve_b);

  // TWAP over [t0, t0+20]: price_1 for 10 s, then price_3 (the reserves after
  // the last operation) for 10 s, counterfactually accrued to now.
  auto twap = GetTwap(c.db(), c.params(), "pool_kray_btc", 20, t0 + 20);
  ASSERT_TRUE(twap.ok()) << twap.error().message;
  EXPECT_EQ(twap->from, t0);
  EXPECT_EQ(twap->to, t0 + 20);
  EXPECT_EQ(twap->average_a_uq112, U256::DivMod(price_a1.MulU64(10) + price_a3.MulU64(10), U256(20)).first);
  EXPECT_EQ(twap->average_b_uq112, U256::DivMod(price_b1.MulU64(10) + price_b3.MulU64(10), U256(20)).first);
  // A window inside the history is interpolated exactly between updates:
  // [t0+7, t0+12] is 3 s of price_1 and 2 s of price_3.
  twap = GetTwap(c.db(), c.params(), "pool_kray_btc", 5, t0 + 12);
  ASSERT_TRUE(twap.ok()) << twap.error().message;
  EXPECT_EQ(twap->average_a_uq112, U256::DivMod(price_a1.MulU64(3) + price_a3.MulU64(2), U256(5)).first);
  // Reading later does not change the past: the same window from the
  // accumulators alone, a day on.
  auto later = GetTwap(c.db(), c.params(), "pool_kray_btc", 86400, t0 + 86400 + 5);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->from, t0 + 5);
  // A window reaching before the pool's creation starts at the creation.
  twap = GetTwap(c.db(), c.params(), "pool_kray_btc", 1000000, t0 + 20);
  ASSERT_TRUE(twap.ok());
  EXPECT_EQ(twap->from, t0);
  EXPECT_EQ(twap->requested_window, 1000000);
  // Bad windows and pools are refused.
  EXPECT_EQ(GetTwap(c.db(), c.params(), "pool_kray_btc", 0, t0 + 20).error().code, "invalid_field");
  EXPECT_EQ(GetTwap(c.db(), c.params(), "pool_kray_dog", 60, t0 + 20).error().code, "pool_not_found");
  EXPECT_EQ(GetTwap(c.db(), c.params(), "pool_x", 60, t0 + 20).error().code, "invalid_pool_id");
}

TEST(DefiOracle, ConstantReservesAverageToTheSpotPrice) {
  Chain c;
  CreateKrayBtc(c);
  // No second has passed: no average yet.
  EXPECT_EQ(GetTwap(c.db(), c.params(), "pool_kray_btc", 60, t0).error().code, "insufficient_history");
  // Nothing trades for an hour: the TWAP is the spot price, 2e6/1e6 sats per
  // credit = 2 * 10^(3-8) = 0.00002 BTC per KRAY, and 50000 KRAY per BTC.
  auto twap = GetTwap(c.db(), c.params(), "pool_kray_btc", 3600, t0 + 3600);
  ASSERT_TRUE(twap.ok());
  EXPECT_EQ(twap->average_a_uq112, U256(2) << 112);
  EXPECT_EQ(twap->price_a_in_b, "0.00002");
  EXPECT_EQ(twap->price_b_in_a, "50000");
}

TEST(DefiReads, QuoteIsTheSwapItQuotes) {
  Chain c;
  CreateKrayBtc(c);
  QuoteRequest q;
  q.pool_id = "pool_kray_btc";
  q.token_in = "KRAY";
  q.amount_in = 10000;
  auto quote = QuoteSwap(c.db(), c.params(), q);
  ASSERT_TRUE(quote.ok()) << quote.error().message;
  EXPECT_EQ(quote->amount_out, 19743u);
  // Spot: 2e6 sats / 1e6 credits = 0.00002 BTC per KRAY; effective:
  // 19743 / 10000 * 10^-5 = 0.000019743; impact = 100 * (1 - 19743 / 20000)
  // = 1.285 percent (the 0.3% fee included).
  EXPECT_EQ(quote->spot_price, "0.00002");
  EXPECT_EQ(quote->effective_price, "0.000019743");
  EXPECT_EQ(quote->price_impact, "1.285");
  EXPECT_EQ(quote->minimum_received, 19644u);  // floor(19743 * 0.995)
  EXPECT_EQ(quote->slippage_bps, kDefaultSlippageBps);
  q.slippage_bps = 100;
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), q)->minimum_received, 19545u);  // floor(19743 * 0.99)
  auto swap = Swap(c, "KRAY", 10000, t0 + 1);
  ASSERT_TRUE(swap.ok());
  EXPECT_EQ(std::string(*state::FindField(swap->result, "amount_out")), "19743");

  // A path quote is the route swap's result.
  ASSERT_TRUE(c.Run("pool_create", kDev1,
                    {{"token_a", "DOG"}, {"token_b", "KRAY"}, {"amount_a", "50000000"}, {"amount_b", "1000000"}},
                    t0 + 1)
                  .ok());
  QuoteRequest route;
  route.path = "DOG,KRAY,BTC";
  route.amount_in = 1000000;
  auto rq = QuoteSwap(c.db(), c.params(), route);
  ASSERT_TRUE(rq.ok()) << rq.error().message;
  EXPECT_EQ(rq->pools, (std::vector<std::string>{"pool_kray_dog", "pool_kray_btc"}));
  ASSERT_EQ(rq->amounts.size(), 3u);
  auto routed =
      c.Run("swap_route", kDev2, {{"path", "DOG,KRAY,BTC"}, {"amount_in", "1000000"}, {"min_amount_out", "0"}}, t0 + 2);
  ASSERT_TRUE(routed.ok()) << routed.error().message;
  EXPECT_EQ(std::string(*state::FindField(routed->result, "amount_out")), std::to_string(rq->amount_out));

  // Errors, as the swap's.
  QuoteRequest bad = q;
  bad.path = "KRAY,BTC";
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "invalid_field");
  bad = q;
  bad.slippage_bps = 10001;
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "invalid_field");
  bad = q;
  bad.token_in = "DOG";
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "token_not_in_pool");
  bad = q;
  bad.pool_id = "pool_btc_dog";
  bad.token_in = "DOG";
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "pool_not_found");
  bad = q;
  bad.amount_in = 0;
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "invalid_amount");
  bad = QuoteRequest{};
  bad.path = "DOG,KRAY,RADIOLA";
  bad.amount_in = 5;
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "pool_not_found");
  bad.path = "KRAY,BTC,KRAY";
  EXPECT_EQ(QuoteSwap(c.db(), c.params(), bad).error().code, "repeated_pool");
  // Dust quotes 0 out (the swap would be refused) with a 100% impact.
  bad = q;
  bad.token_in = "BTC";
  bad.amount_in = 1;
  auto dust = QuoteSwap(c.db(), c.params(), bad);
  ASSERT_TRUE(dust.ok());
  EXPECT_EQ(dust->amount_out, 0u);
  EXPECT_EQ(dust->price_impact, "100");
}

TEST(DefiReads, PoolDetailsVolumeAndCounts) {
  Chain c;
  CreateKrayBtc(c);
  ASSERT_TRUE(Swap(c, "KRAY", 10000, t0 + 10).ok());  // 10000 KRAY in, 19743 BTC out
  ASSERT_TRUE(Swap(c, "BTC", 19743, t0 + 20).ok());   // 19743 BTC in, 9940 KRAY out
  auto pool = GetPool(c.db(), c.params(), "pool_kray_btc");
  ASSERT_TRUE(pool.ok());
  auto d = DescribePool(c.db(), c.params(), *pool, t0 + 30);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->lp_asset, "LP:pool_kray_btc");
  EXPECT_EQ(d->volume_24h_a, static_cast<u128>(10000 + 9940));
  EXPECT_EQ(d->volume_24h_b, static_cast<u128>(19743 * 2));
  EXPECT_EQ(d->swaps_24h, 2u);
  EXPECT_EQ(d->swap_count, 2u);
  EXPECT_FALSE(d->protocol_fee);
  // Reserves 1000060 credits / 2000000 sats: TVL in whole units, prices exact.
  EXPECT_EQ(pool->reserve_a, 1000060u);
  EXPECT_EQ(pool->reserve_b, 2000000u);
  EXPECT_EQ(d->tvl_a, "1000.060");
  EXPECT_EQ(d->tvl_b, "0.02000000");
  EXPECT_EQ(d->price_b_in_a, "50003");                 // 1000060 / 2000000 * 10^5
  EXPECT_EQ(d->price_a_in_b, "0.000019998800071995");  // 2000000 / 1000060 * 10^-5, truncated
  // A day after the first swap only the second is in the 24 h volume.
  d = DescribePool(c.db(), c.params(), *pool, t0 + 10 + 86400);
  EXPECT_EQ(d->swaps_24h, 1u);
  EXPECT_EQ(d->volume_24h_a, static_cast<u128>(9940));
  EXPECT_EQ(d->swap_count, 2u);
  auto all = ListPools(c.db());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(GetPool(c.db(), c.params(), "pool_kray_dog").error().code, "pool_not_found");
  EXPECT_EQ(GetPool(c.db(), c.params(), "nope").error().code, "invalid_pool_id");
}

}  // namespace
}  // namespace kray::defi
