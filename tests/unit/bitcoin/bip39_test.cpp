// BIP-39 against tests/vectors/bip39.json (trezor/python-mnemonic, "TREZOR"
// passphrase) and bip39-english.txt.
#include "kray/bitcoin/bip39.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kray/bitcoin/bip32.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using ::kray::testing::LoadVector;

TEST(Bip39, WordlistMatchesVectorFile) {
  std::ifstream f(std::string(KRAY_TEST_VECTORS_DIR) + "/bip39-english.txt");
  std::string line;
  std::size_t i = 0;
  while (std::getline(f, line)) {
    ASSERT_LT(i, 2048u);
    EXPECT_EQ(Bip39EnglishWords()[i], line);
    EXPECT_EQ(Bip39WordIndex(line), static_cast<int>(i));
    ++i;
  }
  EXPECT_EQ(i, 2048u);
  EXPECT_TRUE(std::is_sorted(Bip39EnglishWords().begin(), Bip39EnglishWords().end()));
  EXPECT_EQ(Bip39WordIndex("notaword"), -1);
}

TEST(Bip39, Vectors) {
  const auto j = LoadVector("bip39.json");
  const std::string passphrase = j.at("passphrase");
  ASSERT_EQ(j.at("vectors").size(), 24u);
  for (const auto& v : j.at("vectors")) {
    const std::string mnemonic = v.at("mnemonic");
    SCOPED_TRACE("entropy " + v.at("entropy").get<std::string>() + " mnemonic \"" + mnemonic + "\"");
    const Bytes entropy = *FromHex(v.at("entropy").get<std::string>());
    auto m = Bip39EntropyToMnemonic(entropy);
    ASSERT_TRUE(m.ok()) << m.error().code;
    EXPECT_EQ(*m, mnemonic);
    auto e = Bip39MnemonicToEntropy(mnemonic);
    ASSERT_TRUE(e.ok()) << e.error().code;
    EXPECT_EQ(ToHex(*e), v.at("entropy").get<std::string>());
    auto seed = Bip39MnemonicToSeed(mnemonic, passphrase);
    ASSERT_TRUE(seed.ok());
    EXPECT_EQ(ToHex(*seed), v.at("seed").get<std::string>());
    auto master = Bip32MasterKey(*seed);
    ASSERT_TRUE(master.ok());
    EXPECT_EQ(*EncodeExtPrivKey(*master, Network::kMainnet), v.at("xprv").get<std::string>());
  }
}

TEST(Bip39, Rejections) {
  const std::string good =
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
  EXPECT_TRUE(Bip39MnemonicToEntropy(good).ok());
  // Extra whitespace is tolerated when splitting words.
  EXPECT_TRUE(Bip39MnemonicToEntropy("  abandon abandon abandon abandon abandon abandon\tabandon abandon abandon "
                                     "abandon abandon  about\n")
                  .ok());
  EXPECT_EQ(Bip39MnemonicToEntropy(good.substr(0, good.size() - 5) + "abandon").error().code, "bip39_bad_checksum");
  EXPECT_EQ(Bip39MnemonicToEntropy(good.substr(0, good.size() - 5) + "abandonx").error().code, "bip39_unknown_word");
  EXPECT_EQ(Bip39MnemonicToEntropy(good.substr(0, good.size() - 6)).error().code, "bip39_bad_word_count");
  EXPECT_EQ(Bip39MnemonicToEntropy("").error().code, "bip39_bad_word_count");
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "abandon ";
  EXPECT_EQ(Bip39MnemonicToEntropy(many).error().code, "bip39_bad_word_count");
  EXPECT_EQ(Bip39EntropyToMnemonic(Bytes(15, 0)).error().code, "bip39_bad_entropy_length");
  EXPECT_EQ(Bip39EntropyToMnemonic(Bytes(33, 0)).error().code, "bip39_bad_entropy_length");
  EXPECT_EQ(Bip39MnemonicToSeed(good, "caf\xc3\xa9").error().code, "bip39_not_ascii");
}

}  // namespace
}  // namespace kray::bitcoin
