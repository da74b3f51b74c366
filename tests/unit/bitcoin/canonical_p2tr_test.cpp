// CanonicalP2trAddress: one canonical text per spendable P2TR output, with a
// distinct error for each way an address can fail (BIP-173 case rule,
// BIP-350 vectors, network, template, x-only point).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/bech32.h"
#include "kray/crypto/secp256k1.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using nlohmann::json;
using testing::LoadVector;

// Regtest address of dev account 1 (README).
constexpr const char* kDev1 = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}
std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string CodeOf(std::string_view hrp, std::string_view text) {
  auto r = CanonicalP2trAddress(hrp, text);
  return r.ok() ? "ok" : r.error().code;
}

// A v1 address (bech32m) over an arbitrary 32-byte program.
std::string V1Address(std::string_view hrp, const Bytes& program) {
  return EncodeSegwitAddress(hrp, WitnessProgram{1, program}).value();
}

TEST(CanonicalP2tr, LowerAndUpperCaseNameTheSameAddress) {
  EXPECT_EQ(CanonicalP2trAddress("bcrt", kDev1).value(), kDev1);
  EXPECT_EQ(CanonicalP2trAddress("bcrt", Upper(kDev1)).value(), kDev1);
}

TEST(CanonicalP2tr, MixedCaseIsRejected) {
  std::string one_upper = kDev1;
  one_upper[10] = static_cast<char>(std::toupper(static_cast<unsigned char>(one_upper[10])));
  ASSERT_NE(one_upper, kDev1);
  EXPECT_EQ(CodeOf("bcrt", one_upper), "mixed_case");
  std::string upper_hrp = "BCRT" + std::string(kDev1).substr(4);  // mixed between HRP and data
  EXPECT_EQ(CodeOf("bcrt", upper_hrp), "mixed_case");
  std::string one_lower = Upper(kDev1);
  one_lower.back() = static_cast<char>(std::tolower(static_cast<unsigned char>(one_lower.back())));
  EXPECT_EQ(CodeOf("bcrt", one_lower), "mixed_case");
}

TEST(CanonicalP2tr, WrongNetwork) {
  EXPECT_EQ(CodeOf("bc", kDev1), "wrong_network");
  EXPECT_EQ(CodeOf("tb", kDev1), "wrong_network");
  EXPECT_EQ(CodeOf("bcrt", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"), "wrong_network");
}

// Every BIP-350 valid address: the two P2TR vectors come back lower case;
// the others are valid segwit addresses but not P2TR.
TEST(CanonicalP2tr, Bip350ValidAddresses) {
  const json v = LoadVector("bip350-bech32m.json");
  int p2tr = 0;
  for (const json& e : v.at("valid_addresses")) {
    const std::string addr = e["address"].get<std::string>();
    const std::string spk = e["scriptPubKey"].get<std::string>();
    SCOPED_TRACE(addr);
    const std::string hrp = Lower(addr.substr(0, 2));
    auto r = CanonicalP2trAddress(hrp, addr);
    if (spk.rfind("5120", 0) == 0) {
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(*r, Lower(addr));
      ++p2tr;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, "not_p2tr");
    }
  }
  EXPECT_EQ(p2tr, 2);
}

TEST(CanonicalP2tr, Bip350InvalidAddresses) {
  const json v = LoadVector("bip350-bech32m.json");
  for (const json& e : v.at("invalid_addresses")) {
    const std::string addr = e["address"].get<std::string>();
    SCOPED_TRACE(addr + ": " + e["reason"].get<std::string>());
    for (const char* hrp : {"bc", "tb", "bcrt"}) {
      auto r = CanonicalP2trAddress(hrp, addr);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(HttpStatusFor(r.error().kind), 400);
    }
  }
  // BIP-173's v1 addresses with a Bech32 (not Bech32m) checksum.
  for (const json& e : v.at("bip173_segwit_addresses").at("valid")) {
    const std::string addr = e["address"].get<std::string>();
    SCOPED_TRACE(addr);
    EXPECT_FALSE(CanonicalP2trAddress(Lower(addr.substr(0, 2)), addr).ok());
  }
}

TEST(CanonicalP2tr, OtherTemplatesAreNotP2tr) {
  Bytes k32(32, 0);
  k32[31] = 1;  // x = 1 is on the curve
  EXPECT_EQ(CodeOf("bcrt", V1Address("bcrt", k32)), "ok");
  EXPECT_EQ(CodeOf("bcrt", EncodeSegwitAddress("bcrt", WitnessProgram{0, k32}).value()), "not_p2tr");  // P2WSH
  EXPECT_EQ(CodeOf("bcrt", EncodeSegwitAddress("bcrt", WitnessProgram{0, Bytes(20, 7)}).value()), "not_p2tr");
  EXPECT_EQ(CodeOf("bcrt", V1Address("bcrt", Bytes(20, 7))), "not_p2tr");
  EXPECT_EQ(CodeOf("bcrt", EncodeSegwitAddress("bcrt", WitnessProgram{2, k32}).value()), "not_p2tr");
  // A v1 program under the Bech32 (BIP-173) checksum is not an address at all.
  std::vector<std::uint8_t> data5 = {1};
  auto conv = ConvertBits(k32, 8, 5, true);
  data5.insert(data5.end(), conv->begin(), conv->end());
  EXPECT_EQ(CodeOf("bcrt", Bech32Encode(Bech32Encoding::kBech32, "bcrt", data5)), "invalid_address");
}

// x = 5 is not the x coordinate of a secp256k1 point (5^3 + 7 = 132 is not a
// square mod p), so no key can spend such an output.
TEST(CanonicalP2tr, OutputKeyNotOnTheCurveIsRejected) {
  crypto::XOnlyPubKey x5{};
  x5[31] = 5;
  ASSERT_FALSE(crypto::IsValidXOnly(x5));
  std::string addr = V1Address("bcrt", Bytes(x5.begin(), x5.end()));
  EXPECT_EQ(CodeOf("bcrt", addr), "invalid_output_key");
  EXPECT_EQ(CodeOf("bcrt", Upper(addr)), "invalid_output_key");
  // x >= p is not a field element.
  EXPECT_EQ(CodeOf("bcrt", V1Address("bcrt", Bytes(32, 0xff))), "invalid_output_key");
}

TEST(CanonicalP2tr, GarbageIsInvalidAddress) {
  for (const std::string& s :
       {std::string(), std::string("bcrt1"), std::string("kray_3f385eb703a5fc2bacbee9b1b7de87dd"),
        std::string(kDev1).substr(0, 60), std::string(kDev1) + "q", std::string(1 << 20, 'q'),
        std::string(kDev1).replace(20, 1, "b"), std::string("bcrt1p\xff\xfe")}) {
    SCOPED_TRACE(s.substr(0, 70));
    EXPECT_EQ(CodeOf("bcrt", s), "invalid_address");
  }
}

}  // namespace
}  // namespace kray::bitcoin
