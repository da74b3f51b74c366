// BIP-86 against tests/vectors/bip86.json: mnemonic -> seed -> root keys ->
// account / address keys -> internal key, output key, scriptPubKey, address.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/bip32.h"
#include "kray/bitcoin/bip39.h"
#include "kray/bitcoin/taproot_key.h"

namespace kray::bitcoin {
namespace {

TEST(Bip86, Vectors) {
  std::ifstream f(std::string(KRAY_TEST_VECTORS_DIR) + "/bip86.json");
  ASSERT_TRUE(f.good());
  const auto j = nlohmann::json::parse(f);
  const std::string mnemonic = j.at("mnemonic");
  ASSERT_TRUE(Bip39MnemonicToEntropy(mnemonic).ok());
  auto seed = Bip39MnemonicToSeed(mnemonic, "");
  ASSERT_TRUE(seed.ok());
  auto root = Bip32MasterKey(*seed);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*EncodeExtPrivKey(*root, Network::kMainnet), j.at("root_xprv").get<std::string>());
  EXPECT_EQ(EncodeExtPubKey(*root, Network::kMainnet), j.at("root_xpub").get<std::string>());

  auto derive = [&](const nlohmann::json& v) {
    auto path = ParseBip32Path(v.at("path").get<std::string>());
    EXPECT_TRUE(path.ok());
    auto key = Bip32DerivePath(*root, *path);
    EXPECT_TRUE(key.ok());
    EXPECT_EQ(*EncodeExtPrivKey(*key, Network::kMainnet), v.at("xprv").get<std::string>());
    EXPECT_EQ(EncodeExtPubKey(*key, Network::kMainnet), v.at("xpub").get<std::string>());
    return *key;
  };
  for (const auto& a : j.at("accounts")) {
    SCOPED_TRACE(a.at("description").get<std::string>());
    derive(a);
  }
  ASSERT_EQ(j.at("addresses").size(), 3u);
  for (const auto& a : j.at("addresses")) {
    SCOPED_TRACE(a.at("description").get<std::string>());
    const ExtKey key = derive(a);
    EXPECT_TRUE(IsBip86Path(*ParseBip32Path(a.at("path").get<std::string>())));
    const crypto::XOnlyPubKey internal = Bip32XOnly(key);
    EXPECT_EQ(ToHex(internal), a.at("internal_key").get<std::string>());
    auto out = TaprootOutputKey(internal, std::nullopt);
    ASSERT_TRUE(out);
    EXPECT_EQ(ToHex(out->key), a.at("output_key").get<std::string>());
    EXPECT_EQ("5120" + ToHex(out->key), a.at("scriptPubKey").get<std::string>());
    EXPECT_EQ(P2trAddress("bc", out->key), a.at("address").get<std::string>());
  }
}

}  // namespace
}  // namespace kray::bitcoin
