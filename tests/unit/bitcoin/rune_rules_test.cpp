// Rune name rules used by the runes index, checked against ord's own test
// cases in crates/ordinals/src/rune.rs (minimum_at_height,
// mainnet_minimum_at_height, reserved, commitment).
#include <gtest/gtest.h>

#include "kray/bitcoin/runestone.h"

namespace kray::bitcoin {
namespace {

std::string MinimumName(Network net, std::uint32_t height) {
  return RuneName(MinimumRuneAtHeight(net, height));
}

TEST(RuneRules, MinimumAtHeightOnEveryNetwork) {
  EXPECT_EQ(MinimumName(Network::kTestnet, 0), "AAAAAAAAAAAAA");
  EXPECT_EQ(MinimumName(Network::kTestnet, 210000 * 12 - 1), "AAAAAAAAAAAAA");
  EXPECT_EQ(MinimumName(Network::kTestnet, 210000 * 12), "ZZYZXBRKWXVA");
  EXPECT_EQ(MinimumName(Network::kTestnet, 210000 * 12 + 1), "ZZXZUDIVTVQA");
  EXPECT_EQ(MinimumName(Network::kSignet, 0), "ZZYZXBRKWXVA");
  EXPECT_EQ(MinimumName(Network::kSignet, 1), "ZZXZUDIVTVQA");
  EXPECT_EQ(MinimumName(Network::kRegtest, 0), "ZZYZXBRKWXVA");
  EXPECT_EQ(MinimumName(Network::kRegtest, 1), "ZZXZUDIVTVQA");
}

TEST(RuneRules, MainnetMinimumAtHeight) {
  constexpr std::uint32_t kStart = 840000, kEnd = kStart + 210000, kInterval = 17500;
  struct Case {
    std::uint32_t height;
    const char* minimum;
  };
  const Case cases[] = {
      {0, "AAAAAAAAAAAAA"},
      {kStart / 2, "AAAAAAAAAAAAA"},
      {kStart, "ZZYZXBRKWXVA"},
      {kStart + 1, "ZZXZUDIVTVQA"},
      {kEnd - 1, "A"},
      {kEnd, "A"},
      {kEnd + 1, "A"},
      {UINT32_MAX, "A"},
      {kStart - 1, "AAAAAAAAAAAAA"},
      {kStart + kInterval * 1 - 1, "AAAAAAAAAAAA"},
      {kStart + kInterval * 1, "ZZYZXBRKWXV"},
      {kStart + kInterval * 1 + 1, "ZZXZUDIVTVQ"},
      {kStart + kInterval * 2 - 1, "AAAAAAAAAAA"},
      {kStart + kInterval * 2, "ZZYZXBRKWY"},
      {kStart + kInterval * 3, "ZZYZXBRKX"},
      {kStart + kInterval * 4, "ZZYZXBRL"},
      {kStart + kInterval * 5, "ZZYZXBS"},
      {kStart + kInterval * 6, "ZZYZXC"},
      {kStart + kInterval * 7, "ZZYZY"},
      {kStart + kInterval * 8, "ZZZA"},
      {kStart + kInterval * 8 + 1, "ZZYA"},
      {kStart + kInterval * 9, "ZZZ"},
      {kStart + kInterval * 10 - 2, "AAC"},
      {kStart + kInterval * 10, "AAA"},
      {kStart + kInterval * 10 + kInterval / 2, "NA"},
      {kStart + kInterval * 11 - 2, "AB"},
      {kStart + kInterval * 11 + kInterval / 2, "N"},
      {kStart + kInterval * 12 - 2, "B"},
      {kStart + kInterval * 12 - 1, "A"},
  };
  for (const Case& c : cases) EXPECT_EQ(MinimumName(Network::kMainnet, c.height), c.minimum) << c.height;
}

TEST(RuneRules, ReservedNames) {
  EXPECT_EQ(kReservedRune, ParseRuneName("AAAAAAAAAAAAAAAAAAAAAAAAAAA")->value);
  EXPECT_EQ(ReservedRune(0, 0).value, kReservedRune);
  EXPECT_EQ(ReservedRune(0, 1).value, kReservedRune + 1);
  EXPECT_EQ(ReservedRune(1, 0).value, kReservedRune + (u128{1} << 32));
  EXPECT_EQ(ReservedRune(UINT64_MAX, UINT32_MAX).value, kReservedRune + ((u128{UINT64_MAX} << 32) | u128{UINT32_MAX}));
  EXPECT_TRUE(IsReservedRune(ReservedRune(840000, 1)));
  EXPECT_FALSE(IsReservedRune(Rune{kReservedRune - 1}));
}

TEST(RuneRules, Commitment) {
  EXPECT_EQ(RuneCommitment(Rune{0}), Bytes{});
  EXPECT_EQ(RuneCommitment(Rune{1}), Bytes{1});
  EXPECT_EQ(RuneCommitment(Rune{255}), Bytes{255});
  EXPECT_EQ(RuneCommitment(Rune{256}), (Bytes{0, 1}));
  EXPECT_EQ(RuneCommitment(Rune{65535}), (Bytes{255, 255}));
  EXPECT_EQ(RuneCommitment(Rune{65536}), (Bytes{0, 0, 1}));
  EXPECT_EQ(RuneCommitment(Rune{~u128{0}}), Bytes(16, 255));
}

}  // namespace
}  // namespace kray::bitcoin
