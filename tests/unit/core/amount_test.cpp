#include "kray/core/amount.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kray/core/params.h"

namespace kray {
namespace {

TEST(ParseAmount, AcceptsPlainIntegers) {
  EXPECT_EQ(ParseAmount("0").value(), 0u);
  EXPECT_EQ(ParseAmount("100000").value(), 100000u);
  EXPECT_EQ(ParseAmount("9223372036854775807").value(), kMaxAmount);
}

TEST(ParseAmount, RejectsEverythingElse) {
  const std::vector<std::string> bad = {
      "",    "-1",    "+1", "1.5", "1e3", " 1", "1 ", "0x10", "9223372036854775808",    "99999999999999999999999",
      "abc", "1,000", "00", "01",  "007", "-0", "+0", "0.0",  "0009223372036854775807", std::string(1 << 20, '1')};
  for (const std::string& b : bad) {
    auto r = ParseAmount(b);
    ASSERT_FALSE(r.ok()) << "accepted '" << b.substr(0, 40) << "'";
    EXPECT_EQ(r.error().code, "invalid_amount");
    EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
  }
}

// Canonical decimal only: "0" is the one string that may start with '0'.
TEST(ParseAmount, RejectsLeadingZerosWithTheirOwnMessage) {
  EXPECT_EQ(ParseAmount("0").value(), 0u);
  EXPECT_EQ(ParseAmount("10").value(), 10u);
  for (const char* bad : {"00", "01", "000000000000000000001"}) {
    auto r = ParseAmount(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("leading zeros"), std::string::npos) << r.error().message;
  }
}

TEST(CheckedMath, DetectsOverflowAndUnderflow) {
  EXPECT_EQ(CheckedAdd(1, 2), 3u);
  EXPECT_FALSE(CheckedAdd(kMaxAmount, 1));
  EXPECT_EQ(CheckedSub(5, 5), 0u);
  EXPECT_FALSE(CheckedSub(4, 5));
  EXPECT_EQ(MulDiv(kMaxAmount, 3, 3), kMaxAmount);  // 128-bit intermediate
  EXPECT_FALSE(MulDiv(1, 1, 0));
  EXPECT_FALSE(MulDiv(kMaxAmount, 2, 1));
}

TEST(FormatUnits, PadsFractions) {
  EXPECT_EQ(FormatUnits(1500, 3), "1.500");
  EXPECT_EQ(FormatUnits(5, 3), "0.005");
  EXPECT_EQ(FormatUnits(0, 3), "0.000");
  EXPECT_EQ(FormatUnits(123, 0), "123");
  EXPECT_EQ(FormatUnits(100000000, 8), "1.00000000");
}

TEST(Gas, ScheduleAndSplitConserve) {
  EXPECT_EQ(GasFor(TxType::kTransfer), 1u);
  EXPECT_EQ(GasFor(TxType::kSwap), 5u);
  EXPECT_EQ(GasFor(TxType::kStake), 2u);
  EXPECT_EQ(GasFor(TxType::kUnstake), 2u);
  EXPECT_EQ(GasFor(TxType::kMarketList), 10u);
  EXPECT_EQ(GasFor(TxType::kMarketBuy), 5u);
  EXPECT_EQ(GasFor(TxType::kDefiComplex), 20u);
  EXPECT_EQ(GasFor(TxType::kWithdrawal), 100u);
  for (Amount fee : {0ull, 1ull, 2ull, 5ull, 101ull}) {
    GasSplit s = SplitGas(fee);
    EXPECT_EQ(s.burned + s.to_validators, fee);
    EXPECT_GE(s.burned, s.to_validators);
  }
  EXPECT_EQ(SplitGas(1).burned, 1u);
  EXPECT_EQ(SplitGas(10).to_validators, 5u);
}

TEST(Params, NetworksAndTxTypesRoundTrip) {
  EXPECT_EQ(Bech32Hrp(*ParseNetwork("regtest")), "bcrt");
  EXPECT_EQ(Bech32Hrp(*ParseNetwork("mainnet")), "bc");
  EXPECT_EQ(Bech32Hrp(*ParseNetwork("signet")), "tb");
  EXPECT_FALSE(ParseNetwork("moon"));
  for (auto name :
       {"transfer", "swap", "stake", "unstake", "marketplace_list", "marketplace_buy", "defi_complex", "withdrawal"})
    EXPECT_EQ(TxTypeName(*ParseTxType(name)), name);
  EXPECT_FALSE(ParseTxType("mint"));
}

}  // namespace
}  // namespace kray
