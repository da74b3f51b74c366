// BIP-340 official vectors (tests/vectors/bip340-test-vectors.csv).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"

namespace kray::crypto {
namespace {

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, ',')) cols.push_back(col);
    if (line.back() == ',') cols.emplace_back();
    rows.push_back(cols);
  }
  return rows;
}

// p - y: the other point with the same x.
FieldBytes Negated(const FieldBytes& y) {
  auto p = *FromHexFixed<32>("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
  FieldBytes out;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = p[i] - y[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

TEST(Bip340, OfficialVectors) {
  auto rows = ReadCsv(std::string(KRAY_TEST_VECTORS_DIR) + "/bip340-test-vectors.csv");
  ASSERT_EQ(rows.size(), 19u);
  for (const auto& r : rows) {
    SCOPED_TRACE("vector " + r[0] + " " + (r.size() > 7 ? r[7] : ""));
    auto pub = FromHexFixed<32>(r[2]);
    auto msg = FromHex(r[4]);
    auto sig = FromHexFixed<64>(r[5]);
    ASSERT_TRUE(msg && sig);
    bool expected = r[6] == "TRUE";
    if (!r[1].empty()) {
      auto sk = FromHexFixed<32>(r[1]);
      auto aux = FromHexFixed<32>(r[3]);
      ASSERT_TRUE(sk && aux && pub);
      EXPECT_EQ(ToHex(*XOnlyFromSecret(*sk)), ToHex(*pub));
      auto made = SchnorrSign(*sk, *msg, *aux);
      ASSERT_TRUE(made);
      EXPECT_EQ(ToHex(*made), ToHex(*sig));
    }
    bool verified = pub && SchnorrVerify(*pub, *msg, *sig);
    EXPECT_EQ(verified, expected);
    // The same answer with the key parsed once (the node's cached keys);
    // a key off the curve (vector 5) does not parse.
    auto parsed = pub ? VerifyingKey::Parse(*pub) : std::nullopt;
    EXPECT_EQ(parsed.has_value(), pub && IsValidXOnly(*pub));
    if (parsed) {
      EXPECT_EQ(ToHex(parsed->bytes()), ToHex(*pub));
    }
    EXPECT_EQ(parsed && SchnorrVerify(*parsed, *msg, *sig), expected);
    // And from its point (the node's stored y): the same key, with either y.
    auto y = pub ? EvenY(*pub) : std::nullopt;
    EXPECT_EQ(y.has_value(), parsed.has_value());
    if (!y) continue;
    EXPECT_EQ((*y)[31] % 2, 0);
    for (const FieldBytes& either : {*y, Negated(*y)}) {
      auto from_point = VerifyingKey::FromPoint(*pub, either);
      ASSERT_TRUE(from_point.has_value());
      EXPECT_EQ(ToHex(from_point->bytes()), ToHex(*pub));
      EXPECT_EQ(SchnorrVerify(*from_point, *msg, *sig), expected);
    }
    FieldBytes off = *y;
    off[31] ^= 1;  // another y: (x, y') is not on the curve
    EXPECT_FALSE(VerifyingKey::FromPoint(*pub, off).has_value());
  }
}

// SEC 2's generator G: x and its (even) y, an independent check of EvenY.
TEST(Bip340, EvenYOfTheGeneratorIsSec2s) {
  auto gx = FromHexFixed<32>("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  ASSERT_TRUE(gx);
  auto gy = EvenY(*gx);
  ASSERT_TRUE(gy);
  EXPECT_EQ(ToHex(*gy), "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
  XOnlyPubKey off_curve;
  off_curve.fill(0xff);  // x >= p
  EXPECT_FALSE(EvenY(off_curve).has_value());
  FieldBytes y_of_other;
  y_of_other.fill(0);
  EXPECT_FALSE(VerifyingKey::FromPoint(*gx, y_of_other).has_value());
}

TEST(Hash, KnownDigests) {
  EXPECT_EQ(ToHex(Sha256(AsBytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Ripemd160(AsBytes(""))), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  Sha256Hasher h;
  h.Write(AsBytes("a")).Write(AsBytes("bc"));
  EXPECT_EQ(h.Finalize(), Sha256(AsBytes("abc")));
}

TEST(Secp256k1, SignVerifyRoundTripAndTamper) {
  SecretKey sk = GenerateSecretKey();
  auto pub = XOnlyFromSecret(sk);
  Hash256 msg = Sha256(AsBytes("hello"));
  auto sig = SchnorrSign(sk, msg);
  ASSERT_TRUE(sig && pub);
  EXPECT_TRUE(SchnorrVerify(*pub, msg, *sig));
  (*sig)[10] ^= 1;
  EXPECT_FALSE(SchnorrVerify(*pub, msg, *sig));
}

}  // namespace
}  // namespace kray::crypto
