// BIP-173 / BIP-350 vectors (tests/vectors/bip350-bech32m.json): checksum
// strings and segwit addresses under the current BIP-350 rules.
#include "kray/bitcoin/bech32.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using nlohmann::json;

using ::kray::testing::LoadVector;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The exact bytes of an invalid string (string_hex when present: the JSON
// \u0080 escapes mean single bytes, not UTF-8).
std::string InvalidBytes(const json& e) {
  if (e.contains("string_hex")) {
    auto b = FromHex(e["string_hex"].get<std::string>());
    EXPECT_TRUE(b.has_value());
    return std::string(b->begin(), b->end());
  }
  return e["string"].get<std::string>();
}

void CheckValidChecksums(const json& list, Bech32Encoding want) {
  for (const json& s : list) {
    const std::string str = s.get<std::string>();
    SCOPED_TRACE(str);
    auto d = Bech32Decode(str);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->encoding, want) << "decoded with the other checksum constant";
    // Re-encoding gives the lower-case string back.
    EXPECT_EQ(Bech32Encode(d->encoding, d->hrp, d->data), Lower(str));
  }
}

TEST(Bip350Vectors, ValidBech32) {
  CheckValidChecksums(LoadVector("bip350-bech32m.json").at("valid_bech32"), Bech32Encoding::kBech32);
}

TEST(Bip350Vectors, ValidBech32m) {
  CheckValidChecksums(LoadVector("bip350-bech32m.json").at("valid_bech32m"), Bech32Encoding::kBech32m);
}

TEST(Bip350Vectors, InvalidChecksumStrings) {
  const json v = LoadVector("bip350-bech32m.json");
  int count = 0;
  for (const char* group : {"invalid_bech32", "invalid_bech32m"}) {
    for (const json& e : v.at(group)) {
      SCOPED_TRACE(std::string(group) + ": " + e["reason"].get<std::string>() + " [" +
                   e.value("source_notation", e["string"].get<std::string>()) + "]");
      EXPECT_FALSE(Bech32Decode(InvalidBytes(e)).ok());
      ++count;
    }
  }
  EXPECT_EQ(count, 26);
}

TEST(Bip350Vectors, ValidAddresses) {
  const json v = LoadVector("bip350-bech32m.json");
  ASSERT_EQ(v.at("valid_addresses").size(), 8u);
  for (const json& e : v.at("valid_addresses")) {
    const std::string addr = e["address"].get<std::string>();
    SCOPED_TRACE(addr);
    const std::string hrp = Lower(addr.substr(0, 2));
    ASSERT_TRUE(hrp == "bc" || hrp == "tb");
    auto wp = DecodeSegwitAddress(hrp, addr);
    ASSERT_TRUE(wp.ok()) << wp.error().message;
    EXPECT_EQ(ToHex(WitnessScriptPubKey(*wp)), e["scriptPubKey"].get<std::string>());
    auto enc = EncodeSegwitAddress(hrp, *wp);
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ(*enc, Lower(addr));
    // Through the address.h layer too.
    auto spk = AddressToScriptPubKey(addr, hrp == "bc" ? Network::kMainnet : Network::kTestnet);
    ASSERT_TRUE(spk.ok()) << spk.error().message;
    EXPECT_EQ(ToHex(*spk), e["scriptPubKey"].get<std::string>());
    auto back = ScriptPubKeyToAddress(*spk, hrp == "bc" ? Network::kMainnet : Network::kTestnet);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, Lower(addr));
  }
}

TEST(Bip350Vectors, InvalidAddresses) {
  const json v = LoadVector("bip350-bech32m.json");
  ASSERT_EQ(v.at("invalid_addresses").size(), 15u);
  for (const json& e : v.at("invalid_addresses")) {
    const std::string addr = e["address"].get<std::string>();
    SCOPED_TRACE(addr + ": " + e["reason"].get<std::string>());
    EXPECT_FALSE(DecodeSegwitAddress("bc", addr).ok());
    EXPECT_FALSE(DecodeSegwitAddress("tb", addr).ok());
    EXPECT_FALSE(AddressToScriptPubKey(addr, Network::kMainnet).ok());
    EXPECT_FALSE(AddressToScriptPubKey(addr, Network::kTestnet).ok());
  }
}

TEST(Bip350Vectors, SupersededBip173Addresses) {
  const json g = LoadVector("bip350-bech32m.json").at("bip173_segwit_addresses");
  int v1plus = 0;
  for (const json& e : g.at("valid")) {
    const std::string addr = e["address"].get<std::string>();
    const std::string spk = e["scriptPubKey"].get<std::string>();
    SCOPED_TRACE(addr);
    const std::string hrp = Lower(addr.substr(0, 2));
    auto wp = DecodeSegwitAddress(hrp, addr);
    if (spk.substr(0, 2) == "00") {
      ASSERT_TRUE(wp.ok());  // v0: unchanged by BIP-350
      EXPECT_EQ(ToHex(WitnessScriptPubKey(*wp)), spk);
    } else {
      EXPECT_FALSE(wp.ok()) << "v1+ address with a Bech32 checksum must be rejected";
      ++v1plus;
    }
  }
  EXPECT_EQ(v1plus, 3);
  for (const json& e : g.at("invalid")) {
    const std::string addr = e["address"].get<std::string>();
    SCOPED_TRACE(addr + ": " + e["reason"].get<std::string>());
    EXPECT_FALSE(DecodeSegwitAddress("bc", addr).ok());
    EXPECT_FALSE(DecodeSegwitAddress("tb", addr).ok());
  }
}

}  // namespace
}  // namespace kray::bitcoin
