// The AMM's arithmetic against hand-computed values (each derivation in a
// comment; checked with Python's arbitrary-precision integers), its edges
// near 2^63, and properties over random inputs: rounding always favours the
// pool, k never decreases, LP accounting is pro rata.
#include "kray/defi/amm.h"

#include <gtest/gtest.h>

#include <random>

#include "kray/defi/uint256.h"

namespace kray::defi {
namespace {

constexpr Amount kMax = kMaxAmount;  // 2^63 - 1

TEST(Amm, ISqrtIsTheFloorSquareRoot) {
  EXPECT_EQ(ISqrt(0), 0u);
  EXPECT_EQ(ISqrt(1), 1u);
  EXPECT_EQ(ISqrt(3), 1u);
  EXPECT_EQ(ISqrt(4), 2u);
  EXPECT_EQ(ISqrt(2000000000000), 1414213u);  // 1,000,000 * 2,000,000
  const u128 max_product = static_cast<u128>(kMax) * kMax;
  EXPECT_EQ(ISqrt(max_product), kMax);
  EXPECT_EQ(ISqrt(max_product - 1), kMax - 1);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    u128 v = (static_cast<u128>(rng()) << (rng() % 63)) + rng();
    u128 r = ISqrt(v);
    EXPECT_LE(r * r, v);
    EXPECT_GT((r + 1) * (r + 1), v);
  }
}

TEST(Amm, GetAmountOutHandComputed) {
  // 1000*997*1e6 / (1e6*1000 + 1000*997) = 997e9 / 1000997000 = 996.006... -> 996
  EXPECT_EQ(*GetAmountOut(1000, 1000000, 1000000), 996u);
  // 10000*997*2e6 / (1e6*1000 + 10000*997) = 19940e9 / 1009970000 = 19743.15... -> 19743
  EXPECT_EQ(*GetAmountOut(10000, 1000000, 2000000), 19743u);
  // Dust: 1*997*1000 / (1000*1000 + 997) = 0.99... -> 0 (a swap refuses it)
  EXPECT_EQ(*GetAmountOut(1, 1000, 1000), 0u);
  EXPECT_EQ(GetAmountOut(0, 10, 10).error().code, "invalid_amount");
  EXPECT_EQ(GetAmountOut(1, 0, 10).error().code, "insufficient_liquidity");
}

TEST(Amm, GetAmountOutNear2To63IsExactOrAClearOverflow) {
  // amountIn*997*reserveOut needs 63+10+63 bits here: a clear 400, never a wrapped number.
  auto big = GetAmountOut(kMax, kMax, kMax);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "amount_overflow");
  EXPECT_EQ(big.error().kind, ErrorKind::kInvalidInput);
  // Just inside 128 bits: 2^54 * 997 * (2^63-1) < 2^128. The result is checked
  // against the floor definition in 256-bit arithmetic.
  const Amount in = Amount{1} << 54;
  auto out = GetAmountOut(in, kMax, kMax);
  ASSERT_TRUE(out.ok()) << out.error().message;
  U256 num = U256(in).MulU64(997).MulU64(kMax);
  U256 den = U256(kMax).MulU64(1000) + U256(in).MulU64(997);
  EXPECT_EQ(U256(*out), U256::DivMod(num, den).first);
  EXPECT_LT(*out, kMax);
}

TEST(Amm, QuoteAndOptimalDepositFollowRouter02) {
  EXPECT_EQ(*QuoteAmount(500, 1000, 3000), 1500u);
  EXPECT_EQ(*QuoteAmount(1, 3, 2), 0u);  // floor(2/3)
  EXPECT_EQ(QuoteAmount(kMax, 1, 2).error().code, "amount_overflow");
  // Reserves 1000:3000. Offer 100 A and 400 B: B optimal = 300 <= 400 -> (100, 300).
  auto d = OptimalDeposit(100, 400, 0, 0, 1000, 3000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->a, 100u);
  EXPECT_EQ(d->b, 300u);
  // Offer 100 A and 200 B: B optimal 300 > 200, A optimal = 200*1000/3000 = 66 -> (66, 200).
  d = OptimalDeposit(100, 200, 0, 0, 1000, 3000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->a, 66u);
  EXPECT_EQ(d->b, 200u);
  // Minimums: B optimal 300 < min 301; A optimal 66 < min 67.
  EXPECT_EQ(OptimalDeposit(100, 400, 0, 301, 1000, 3000).error().code, "slippage_exceeded");
  EXPECT_EQ(OptimalDeposit(100, 200, 67, 0, 1000, 3000).error().code, "slippage_exceeded");
  EXPECT_TRUE(OptimalDeposit(100, 200, 66, 200, 1000, 3000).ok());
  // B optimal overflows 2^63: Router02 takes the other branch (all of B).
  d = OptimalDeposit(kMax, 10, 0, 0, 1, 1000);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->a, 0u);  // 10*1/1000
  EXPECT_EQ(d->b, 10u);
}

TEST(Amm, MintAndBurnFollowThePair) {
  // First deposit: isqrt(1e6 * 2e6) = 1414213, minus the 1000 locked.
  EXPECT_EQ(*InitialLiquidity(1000000, 2000000), 1413213u);
  // isqrt(1000*1000) = 1000 is not above MINIMUM_LIQUIDITY; 1001*1001 mints 1.
  EXPECT_EQ(InitialLiquidity(1000, 1000).error().code, "insufficient_initial_liquidity");
  EXPECT_EQ(*InitialLiquidity(1001, 1001), 1u);
  EXPECT_EQ(*InitialLiquidity(kMax, kMax), kMax - 1000);
  // Later: min(100*1414213/1e6, 300*1414213/2e6) = min(141, 212) = 141.
  EXPECT_EQ(*MintLiquidity(100, 300, 1000000, 2000000, 1414213), 141u);
  EXPECT_EQ(MintLiquidity(1, 1, 1000000, 2000000, 1414213).error().code, "insufficient_liquidity_minted");
  EXPECT_EQ(MintLiquidity(kMax, kMax, 1, 1, 4).error().code, "amount_overflow");
  // Burn 141 of 1414354: 141*1000100/1414354 = 99.7.. -> 99; 141*2000300/1414354 = 199.4.. -> 199.
  auto b = BurnAmounts(141, 1000100, 2000300, 1414354);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->a, 99u);
  EXPECT_EQ(b->b, 199u);
  EXPECT_EQ(BurnAmounts(1, 1000, 1000000, 1414354).error().code, "insufficient_liquidity_burned");
  EXPECT_EQ(BurnAmounts(0, 10, 10, 10).error().code, "invalid_amount");
  EXPECT_EQ(BurnAmounts(11, 10, 10, 10).error().code, "invalid_amount");
}

TEST(Amm, ProtocolFeeIsOneSixthOfRootKGrowth) {
  // k_last = 1e12 (sqrt 1e6); reserves now 1.1e6 x 1e6, sqrt(k) = 1048808.
  // 1e6 * 48808 / (1048808*5 + 1e6) = 48808e6 / 6244040 = 7816.7.. -> 7816.
  EXPECT_EQ(ProtocolFeeLiquidity(1100000, 1000000, 1000000000000, 1000000), 7816u);
  EXPECT_EQ(ProtocolFeeLiquidity(1100000, 1000000, 0, 1000000), 0u);              // fee was off
  EXPECT_EQ(ProtocolFeeLiquidity(1000000, 1000000, 1000000000000, 1000000), 0u);  // k did not grow
  EXPECT_EQ(ProtocolFeeLiquidity(900000, 1000000, 1000000000000, 1000000), 0u);   // k shrank (a removal)
}

TEST(Amm, PricesAreUQ112x112) {
  EXPECT_EQ(EncodePriceUQ112(1, 1), U256(1) << 112);
  EXPECT_EQ(EncodePriceUQ112(3, 2).ToDecimal(), "7788445287802241442795744493830144");  // 3 * 2^112 / 2
  EXPECT_EQ(EncodePriceUQ112(1, 3), U256::DivMod(U256(1) << 112, U256(3)).first);
  // The largest: (2^63-1) * 2^112 / 1 < 2^175.
  EXPECT_EQ(EncodePriceUQ112(kMax, 1), U256(kMax) << 112);
}

TEST(Amm, PoolIdsAndLpAssets) {
  ChainParams params;
  EXPECT_EQ(PoolId("KRAY", "BTC"), "pool_kray_btc");
  EXPECT_EQ(PoolId("BTC", "KRAY"), "pool_kray_btc");
  EXPECT_EQ(PoolId("KRAY", "DOG"), "pool_kray_dog");
  EXPECT_EQ(PoolId("DOG", "BTC"), "pool_btc_dog");
  EXPECT_EQ(PoolId("DOGSOCIAL", "DOG"), "pool_dog_dogsocial");
  auto p = ParsePoolId(params, "pool_kray_btc");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->asset_a, "KRAY");
  EXPECT_EQ(p->asset_b, "BTC");
  for (const char* bad : {"pool_btc_kray", "pool_kray_kray", "pool_kray_lp", "POOL_KRAY_BTC", "pool_kray_btc ", ""})
    EXPECT_EQ(ParsePoolId(params, bad).error().code, "invalid_pool_id") << bad;
  EXPECT_EQ(LpAsset("pool_kray_btc"), "LP:pool_kray_btc");
  EXPECT_TRUE(IsLpAssetSymbol("LP:pool_kray_btc"));
  for (const char* bad : {"LP:pool_", "LP:pool_kray", "LP:pool_KRAY_btc", "lp:pool_kray_btc", "KRAY", "LP:pool_kray_"})
    EXPECT_FALSE(IsLpAssetSymbol(bad)) << bad;
}

TEST(Amm, PathsAreRouter02TokenPaths) {
  ChainParams params;
  auto p = ParsePath(params, "DOG,KRAY,BTC");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::string>{"DOG", "KRAY", "BTC"}));
  EXPECT_TRUE(ParsePath(params, "DOG,BTC,KRAY,DOG").ok());  // a cycle through three distinct pools
  EXPECT_EQ(ParsePath(params, "DOG").error().code, "invalid_path");
  EXPECT_EQ(ParsePath(params, "DOG,KRAY,BTC,RADIOLA,DOGSOCIAL").error().code, "invalid_path");  // 4 hops
  EXPECT_EQ(ParsePath(params, "DOG,,BTC").error().code, "invalid_path");
  EXPECT_EQ(ParsePath(params, "DOG,KRAY,").error().code, "invalid_path");
  EXPECT_EQ(ParsePath(params, "DOG, KRAY").error().code, "unknown_asset");
  EXPECT_EQ(ParsePath(params, "DOG,LP:pool_kray_dog").error().code, "unknown_asset");
  EXPECT_EQ(ParsePath(params, "DOG,DOG").error().code, "same_token");
  EXPECT_EQ(ParsePath(params, "KRAY,BTC,KRAY").error().code, "repeated_pool");
}

// ---------------------------------------------------------------------------
// Properties over random reserves and amounts.

TEST(AmmProperty, RoundingNeverFavoursTheTrader) {
  std::mt19937_64 rng(2);
  auto amount = [&](int max_bits) { return (rng() >> (64 - 1 - rng() % max_bits)) + 1; };
  for (int i = 0; i < 20000; ++i) {
    Amount r_in = amount(50), r_out = amount(50), in = amount(40);
    auto out = GetAmountOut(in, r_in, r_out);
    ASSERT_TRUE(out.ok());
    // out is the floor: out*(r_in*1000 + in*997) <= in*997*r_out < (out+1)*(...)
    U256 den = U256(r_in).MulU64(1000) + U256(in).MulU64(997);
    U256 num = U256(in).MulU64(997).MulU64(r_out);
    EXPECT_LE(den.MulU64(*out), num);
    EXPECT_GT(den.MulU64(*out + 1), num);
    // k never decreases, and the fee-adjusted k of UniswapV2Pair.swap holds.
    U256 k_before = U256(r_in).MulU64(r_out);
    U256 k_after = U256(r_in + in).MulU64(r_out - *out);
    EXPECT_GE(k_after, k_before);
    // Selling the output straight back never returns more than was put in.
    auto back = GetAmountOut(*out == 0 ? 1 : *out, r_out - *out, r_in + in);
    ASSERT_TRUE(back.ok());
    if (*out > 0) {
      EXPECT_LE(*back, in);
    }
  }
}

TEST(AmmProperty, LiquidityInThenOutNeverReturnsMore) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    Amount ra = (rng() >> 20) + 1001, rb = (rng() >> 20) + 1001;
    Amount supply = ISqrt(static_cast<u128>(ra) * rb);
    if (supply <= kMinimumLiquidity) continue;
    Amount da = (rng() >> 24) + 1, db = (rng() >> 24) + 1;
    auto dep = OptimalDeposit(da, db, 0, 0, ra, rb);
    ASSERT_TRUE(dep.ok());
    EXPECT_LE(dep->a, da);
    EXPECT_LE(dep->b, db);
    auto minted = MintLiquidity(dep->a, dep->b, ra, rb, supply);
    if (!minted.ok()) {
      EXPECT_EQ(minted.error().code, "insufficient_liquidity_minted");
      continue;
    }
    // Minted units are worth no more than the deposit, on both sides.
    EXPECT_LE(static_cast<u128>(*minted) * ra, static_cast<u128>(dep->a) * supply);
    EXPECT_LE(static_cast<u128>(*minted) * rb, static_cast<u128>(dep->b) * supply);
    auto out = BurnAmounts(*minted, ra + dep->a, rb + dep->b, supply + *minted);
    if (!out.ok()) continue;  // too small to pay out both sides
    EXPECT_LE(out->a, dep->a);
    EXPECT_LE(out->b, dep->b);
  }
}

}  // namespace
}  // namespace kray::defi
