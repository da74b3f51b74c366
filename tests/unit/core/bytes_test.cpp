// Hex: every byte value, as either digit of a pair, decodes exactly when it
// is a hex digit (either case), to its value; ToHex writes lower case and
// round-trips; lengths are checked (the decoder is a table lookup with no
// branch per digit: these pin its table).
#include "kray/core/bytes.h"

#include <gtest/gtest.h>

#include <string>

namespace kray {
namespace {

int DigitValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

TEST(Hex, EveryByteValueDecodesExactlyWhenItIsAHexDigit) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const int v = DigitValue(c);
    for (const std::string& pair : {std::string{ch, '7'}, std::string{'7', ch}}) {
      auto decoded = FromHex(pair);
      std::array<std::uint8_t, 1> out{};
      const bool into = DecodeHexInto(pair, out);
      EXPECT_EQ(decoded.has_value(), v >= 0) << c;
      EXPECT_EQ(into, v >= 0) << c;
      EXPECT_EQ(FromHexFixed<1>(pair).has_value(), v >= 0) << c;
      if (v < 0) continue;
      const std::uint8_t want =
          pair[0] == ch ? static_cast<std::uint8_t>(v << 4 | 7) : static_cast<std::uint8_t>(0x70 | v);
      ASSERT_EQ(decoded->size(), 1u);
      EXPECT_EQ((*decoded)[0], want) << c;
      EXPECT_EQ(out[0], want) << c;
    }
  }
}

TEST(Hex, LowerHexDecodesOnlyLowerCaseDigits) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const int v = (c >= 'A' && c <= 'F') ? -1 : DigitValue(c);
    for (const std::string& pair : {std::string{ch, '7'}, std::string{'7', ch}}) {
      std::array<std::uint8_t, 1> out{};
      EXPECT_EQ(DecodeLowerHexInto(pair, out), v >= 0) << c;
      if (v < 0) continue;
      EXPECT_EQ(out[0], pair[0] == ch ? v << 4 | 7 : 0x70 | v) << c;
    }
  }
  std::array<std::uint8_t, 2> out{};
  EXPECT_TRUE(DecodeLowerHexInto("beef", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 2>{0xbe, 0xef}));
  EXPECT_FALSE(DecodeLowerHexInto("beEf", out));
  EXPECT_FALSE(DecodeLowerHexInto("bee", out));
  EXPECT_FALSE(DecodeLowerHexInto("beef00", out));
}

TEST(Hex, AnInvalidDigitAnywhereFailsTheWhole) {
  const std::string good = "00112233445566778899aabbccddeeffAABBCCDDEEFF";
  ASSERT_TRUE(FromHex(good).has_value());
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = 'g';
    EXPECT_FALSE(FromHex(bad).has_value()) << i;
    bad[i] = '\x80';
    EXPECT_FALSE(FromHex(bad).has_value()) << i;
  }
}

TEST(Hex, LengthsAreChecked) {
  EXPECT_EQ(FromHex(""), Bytes{});
  EXPECT_FALSE(FromHex("0").has_value());
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHexFixed<2>("00").has_value());
  EXPECT_FALSE(FromHexFixed<2>("000000").has_value());
  std::array<std::uint8_t, 2> out{};
  EXPECT_FALSE(DecodeHexInto("00", out));
  EXPECT_TRUE(DecodeHexInto("beEF", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 2>{0xbe, 0xef}));
}

TEST(Hex, ToHexWritesLowerCaseAndRoundTrips) {
  Bytes all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<std::uint8_t>(c));
  const std::string hex = ToHex(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  EXPECT_EQ(hex.find_first_of("ABCDEF"), std::string::npos);
  EXPECT_EQ(FromHex(hex), all);
}

}  // namespace
}  // namespace kray
