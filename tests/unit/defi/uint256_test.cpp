// U256 (the oracle's accumulators) and FormatRatio (every display price):
// wrapping arithmetic, division, decimal strings, exact ratios.
#include "kray/defi/uint256.h"

#include <gtest/gtest.h>

#include <random>

namespace kray::defi {
namespace {

const U256 kAllOnes = U256(0) - U256(1);

TEST(U256, WrapsModulo2To256LikeTheCumulativePrices) {
  EXPECT_EQ(kAllOnes.ToDecimal(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935");  // 2^256 - 1
  EXPECT_EQ(kAllOnes + U256(1), U256(0));
  EXPECT_EQ(U256(5) - U256(7), kAllOnes - U256(1));
  // A difference across the wrap is still the elapsed growth, as Uniswap's
  // oracle relies on ("+ overflow is desired").
  U256 before = kAllOnes - U256(99);
  U256 after = before + U256(1000);
  EXPECT_LT(after, before);
  EXPECT_EQ(after - before, U256(1000));
}

TEST(U256, ShiftsMultipliesDividesAndRoundTrips) {
  EXPECT_EQ((U256(1) << 112).ToDecimal(), "5192296858534827628530496329220096");
  EXPECT_EQ((U256(1) << 255) >> 255, U256(1));
  EXPECT_EQ(U256(1) << 256, U256(0));
  EXPECT_EQ(U256(3) << 64 >> 64, U256(3));
  auto [hi_lo, carry] = (U256(1) << 255).MulU64Full(4);
  EXPECT_EQ(hi_lo, U256(0));
  EXPECT_EQ(carry, 2u);
  EXPECT_EQ(U256::FromU128(static_cast<u128>(1) << 100).ToU128(), static_cast<u128>(1) << 100);
  EXPECT_FALSE((U256(1) << 128).ToU128().has_value());
  std::mt19937_64 rng(4);
  for (int i = 0; i < 2000; ++i) {
    U256 a = (U256(rng()) << 192) + (U256(rng()) << 128) + (U256(rng()) << 64) + U256(rng());
    // A small divisor: q*b is q.MulU64(b).
    std::uint64_t small = rng() | 1;
    auto [q, r] = U256::DivMod(a, U256(small));
    EXPECT_LT(r, U256(small));
    EXPECT_EQ(q.MulU64(small) + r, a);
    // A wide divisor: a = b*c + d with d < b is divided back into (c, d).
    U256 b = (U256(rng()) << 128) + (U256(rng()) << 64) + U256(rng() | 1);
    std::uint64_t c = rng() >> 1;
    U256 d = U256::DivMod(a, b).second;
    auto [q2, r2] = U256::DivMod(b.MulU64(c) + d, b);
    EXPECT_EQ(q2, U256(c));
    EXPECT_EQ(r2, d);
    EXPECT_EQ(U256::FromBytes(a.ToBytes()), a);
  }
  EXPECT_FALSE(U256::FromBytes(Bytes(31)).has_value());
  EXPECT_EQ(U256::DivMod(U256(7), U256(0)).first, U256(0));
}

TEST(FormatRatio, ExactTruncatedDecimals) {
  EXPECT_EQ(FormatRatio(U256(3), U256(2), 0, 18), "1.5");
  EXPECT_EQ(FormatRatio(U256(1), U256(3), 2, 4), "33.3333");
  EXPECT_EQ(FormatRatio(U256(2), U256(3), 0, 4), "0.6666");  // truncated, never rounded up
  EXPECT_EQ(FormatRatio(U256(10), U256(5), 0, 18), "2");
  EXPECT_EQ(FormatRatio(U256(0), U256(5), 0, 18), "0");
  EXPECT_EQ(FormatRatio(U256(1), U256(0), 0, 18), "0");
  // Decimal shifts: 2,000,000 sats per 1,000,000 KRAY credits is
  // 2 * 10^(3-8) = 0.00002 BTC per KRAY.
  EXPECT_EQ(FormatRatio(U256(2000000), U256(1000000), 3 - 8, 18), "0.00002");
  EXPECT_EQ(FormatRatio(U256(1000000), U256(2000000), 8 - 3, 18), "50000");
  EXPECT_EQ(FormatRatio(U256(1), U256(3), -20, 18), "0");
  EXPECT_EQ(FormatRatio(U256(7), U256(1), 20, 2), "700000000000000000000");
  // Denominators near 2^256: 10r needs more than 256 bits, still exact.
  EXPECT_EQ(FormatRatio(kAllOnes - U256(1), kAllOnes, 0, 6), "0.999999");
  EXPECT_EQ(FormatRatio(kAllOnes, kAllOnes - U256(1), 0, 6), "1");
  EXPECT_EQ(FormatRatio(kAllOnes, U256(1) << 255, 0, 3), "1.999");
}

}  // namespace
}  // namespace kray::defi
