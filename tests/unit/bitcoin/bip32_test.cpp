// BIP-32 against tests/vectors/bip32.json (test vectors 1-5).
#include "kray/bitcoin/bip32.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using ::kray::testing::LoadVector;

TEST(Bip32, ValidVectors) {
  const auto j = LoadVector("bip32.json");
  std::size_t chains = 0;
  for (const auto& v : j.at("valid")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    auto master = Bip32MasterKey(*FromHex(v.at("seed_hex").get<std::string>()));
    ASSERT_TRUE(master.ok());
    for (const auto& c : v.at("chains")) {
      const std::string path_text = c.at("path");
      SCOPED_TRACE("chain " + path_text);
      ++chains;
      auto path = ParseBip32Path(path_text);
      ASSERT_TRUE(path.ok()) << path.error().code;
      auto key = Bip32DerivePath(*master, *path);
      ASSERT_TRUE(key.ok());
      const std::string xprv = c.at("ext_prv"), xpub = c.at("ext_pub");
      EXPECT_EQ(*EncodeExtPrivKey(*key, Network::kMainnet), xprv);
      EXPECT_EQ(EncodeExtPubKey(*key, Network::kMainnet), xpub);
      auto prv = ParseExtKey(xprv);
      ASSERT_TRUE(prv.ok()) << prv.error().code;
      EXPECT_TRUE(prv->mainnet);
      EXPECT_EQ(prv->key, *key);
      auto pub = ParseExtKey(xpub);
      ASSERT_TRUE(pub.ok()) << pub.error().code;
      EXPECT_EQ(pub->key, Bip32Neuter(*key));
      EXPECT_EQ(EncodeExtPubKey(pub->key, Network::kMainnet), xpub);
      // CKDpub agrees with CKDpriv for the last non-hardened step.
      if (!path->empty() && !(path->back() & kBip32Hardened)) {
        std::vector<std::uint32_t> parent_path(path->begin(), path->end() - 1);
        auto parent = Bip32DerivePath(*master, parent_path);
        ASSERT_TRUE(parent.ok());
        auto child = Bip32DeriveChild(Bip32Neuter(*parent), path->back());
        ASSERT_TRUE(child.ok());
        EXPECT_EQ(EncodeExtPubKey(*child, Network::kMainnet), xpub);
      }
    }
  }
  EXPECT_EQ(chains, 17u);
}

TEST(Bip32, InvalidKeys) {
  const auto j = LoadVector("bip32.json");
  ASSERT_EQ(j.at("invalid_keys").size(), 16u);
  for (const auto& v : j.at("invalid_keys")) {
    SCOPED_TRACE(v.at("reason").get<std::string>());
    auto r = ParseExtKey(v.at("key").get<std::string>());
    EXPECT_FALSE(r.ok());
  }
}

TEST(Bip32, SpecificRejectionCodes) {
  const auto j = LoadVector("bip32.json");
  const auto& k = j.at("invalid_keys");
  // Order as in BIP-32 test vector 5.
  const char* codes[] = {
      "extkey_version_mismatch",    "extkey_version_mismatch",    "extkey_bad_key_prefix",     "extkey_bad_key_prefix",
      "extkey_bad_key_prefix",      "extkey_bad_key_prefix",      "extkey_zero_depth",         "extkey_zero_depth",
      "extkey_zero_depth",          "extkey_zero_depth",          "extkey_unknown_version",    "extkey_unknown_version",
      "extkey_invalid_private_key", "extkey_invalid_private_key", "extkey_invalid_public_key", "extkey_bad_checksum"};
  for (std::size_t i = 0; i < 16; ++i) {
    SCOPED_TRACE(k[i].at("reason").get<std::string>());
    auto r = ParseExtKey(k[i].at("key").get<std::string>());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, codes[i]);
  }
}

TEST(Bip32, PathsAndErrors) {
  auto p = ParseBip32Path("m/86'/0h/0H/0/1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::uint32_t>{86 | kBip32Hardened, kBip32Hardened, kBip32Hardened, 0, 1}));
  EXPECT_EQ(FormatBip32Path(*p), "m/86'/0'/0'/0/1");
  EXPECT_TRUE(ParseBip32Path("m")->empty());
  for (const char* bad : {"", "86'/0", "m/", "m//1", "m/x", "m/2147483648", "m/1''", "m/1/", "M/1", "m/-1"})
    EXPECT_FALSE(ParseBip32Path(bad).ok()) << bad;
  EXPECT_TRUE(ParseBip32Path("m/2147483647'").ok());
  EXPECT_EQ(Bip86Path(Network::kTestnet, 0, 0, 5),
            (std::vector<std::uint32_t>{86 | kBip32Hardened, 1 | kBip32Hardened, kBip32Hardened, 0, 5}));
  EXPECT_TRUE(IsBip86Path(Bip86Path(Network::kMainnet, 0, 1, 2)));
  EXPECT_FALSE(IsBip86Path(*ParseBip32Path("m/84'/0'/0'/0/0")));
  EXPECT_EQ(Bip32MasterKey(Bytes(15, 1)).error().code, "bip32_bad_seed_length");
  auto master = Bip32MasterKey(Bytes(16, 1));
  ASSERT_TRUE(master.ok());
  EXPECT_EQ(Bip32DeriveChild(Bip32Neuter(*master), kBip32Hardened).error().code, "bip32_hardened_from_public");
  EXPECT_EQ(EncodeExtPrivKey(Bip32Neuter(*master), Network::kMainnet).error().code, "bip32_not_private");
  // Test networks use tprv/tpub and parse back as non-mainnet.
  auto tprv = EncodeExtPrivKey(*master, Network::kSignet);
  ASSERT_EQ(tprv->substr(0, 4), "tprv");
  EXPECT_EQ(EncodeExtPubKey(*master, Network::kRegtest).substr(0, 4), "tpub");
  auto parsed = ParseExtKey(*tprv);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->mainnet);
  EXPECT_EQ(parsed->key, *master);
}

}  // namespace
}  // namespace kray::bitcoin
