// Base58/Base58Check and address <-> scriptPubKey for every template and
// network.
#include "kray/bitcoin/address.h"

#include <gtest/gtest.h>

namespace kray::bitcoin {
namespace {

// Bitcoin Core src/test/data/base58_encode_decode.json (subset).
TEST(Base58, CoreVectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"61", "2g"},
      {"626262", "a3gV"},
      {"636363", "aPEr"},
      {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
      {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
      {"516b6fcd0f", "ABnLTmg"},
      {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
      {"572e4794", "3EFU7m"},
      {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
      {"10c8511e", "Rt5zm"},
      {"00000000000000000000", "1111111111"},
  };
  for (const auto& [hex, b58] : cases) {
    SCOPED_TRACE(hex);
    EXPECT_EQ(Base58Encode(*FromHex(hex)), b58);
    auto dec = Base58Decode(b58);
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(ToHex(*dec), hex);
  }
  EXPECT_EQ(Base58Decode("0OIl").error().code, "base58_invalid");
  EXPECT_EQ(Base58Decode(std::string(200, '2')).error().code, "base58_too_long");
}

TEST(Base58, Check) {
  auto payload = Base58CheckDecode("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(ToHex(*payload), "00751e76e8199196d454941c45d1b3a323f1433bd6");
  EXPECT_EQ(Base58CheckEncode(*payload), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
  EXPECT_EQ(Base58CheckDecode("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMJ").error().code, "base58_bad_checksum");
  EXPECT_EQ(Base58CheckDecode("1").error().code, "base58_bad_checksum");
  EXPECT_EQ(Base58CheckEncode(Bytes(21, 0)), "1111111111111111111114oLvT2");
}

TEST(Address, P2pkhOfGenerator) {
  // HASH160 of the compressed generator point G.
  const Bytes h = *FromHex("751e76e8199196d454941c45d1b3a323f1433bd6");
  const Bytes spk = P2pkhScript(h);
  EXPECT_EQ(ToHex(spk), "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac");
  EXPECT_EQ(*ScriptPubKeyToAddress(spk, Network::kMainnet), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
  EXPECT_EQ(*ScriptPubKeyToAddress(spk, Network::kTestnet), "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r");
  EXPECT_EQ(*AddressToScriptPubKey("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", Network::kMainnet), spk);
  EXPECT_EQ(*AddressToScriptPubKey("mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r", Network::kRegtest), spk);
  EXPECT_EQ(AddressToScriptPubKey("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", Network::kTestnet).error().code,
            "wrong_network");
  // P2WPKH of the same key: BIP-173's example address.
  EXPECT_EQ(*ScriptPubKeyToAddress(P2wpkhScript(h), Network::kMainnet), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
  auto regtest = ScriptPubKeyToAddress(P2wpkhScript(h), Network::kRegtest);
  ASSERT_TRUE(regtest.ok());
  EXPECT_EQ(regtest->rfind("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7k", 0), 0u) << *regtest;
  EXPECT_EQ(*AddressToScriptPubKey(*regtest, Network::kRegtest), P2wpkhScript(h));
}

TEST(Address, RoundTripAllTypesAndNetworks) {
  const Bytes h20(20, 0x11), h32(32, 0x22);
  const Bytes x32 = *FromHex("a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c");
  struct Case {
    Bytes spk;
    ScriptType type;
  } cases[] = {{P2pkhScript(h20), ScriptType::kP2PKH},
               {P2shScript(h20), ScriptType::kP2SH},
               {P2wpkhScript(h20), ScriptType::kP2WPKH},
               {P2wshScript(h32), ScriptType::kP2WSH},
               {P2trScript(x32), ScriptType::kP2TR}};
  const std::pair<Network, const char*> nets[] = {
      {Network::kMainnet, "bc1"}, {Network::kTestnet, "tb1"}, {Network::kSignet, "tb1"}, {Network::kRegtest, "bcrt1"}};
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyScript(c.spk).type, c.type);
    for (const auto& [net, prefix] : nets) {
      SCOPED_TRACE(std::string(ScriptTypeName(c.type)) + " on " + std::string(NetworkName(net)));
      auto addr = ScriptPubKeyToAddress(c.spk, net);
      ASSERT_TRUE(addr.ok());
      if (c.type == ScriptType::kP2PKH) {
        EXPECT_EQ(addr->front(), net == Network::kMainnet ? '1' : (addr->front() == 'm' ? 'm' : 'n'));
      } else if (c.type == ScriptType::kP2SH) {
        EXPECT_EQ(addr->front(), net == Network::kMainnet ? '3' : '2');
      } else {
        EXPECT_EQ(addr->rfind(prefix, 0), 0u) << *addr;
      }
      auto back = AddressToScriptPubKey(*addr, net);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(*back, c.spk);
    }
  }
  // The BIP-86 first address.
  EXPECT_EQ(*ScriptPubKeyToAddress(P2trScript(x32), Network::kMainnet),
            "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr");
}

TEST(Address, Rejections) {
  EXPECT_EQ(ClassifyScript(*FromHex("6a0401020304")).type, ScriptType::kNullData);
  EXPECT_EQ(ScriptPubKeyToAddress(*FromHex("6a0401020304"), Network::kMainnet).error().code, "no_address");
  EXPECT_EQ(ClassifyScript(*FromHex("0013"
                                    "00112233445566778899aabbccddeeff001122"))
                .type,
            ScriptType::kNonStandard);
  EXPECT_EQ(ClassifyScript(*FromHex("5202abcd")).type, ScriptType::kWitnessUnknown);
  EXPECT_EQ(AddressToScriptPubKey("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", Network::kTestnet).error().code,
            "wrong_network");
  EXPECT_EQ(AddressToScriptPubKey("not an address", Network::kMainnet).error().code, "invalid_address");
  EXPECT_EQ(AddressToScriptPubKey("", Network::kMainnet).error().code, "invalid_address");
}

}  // namespace
}  // namespace kray::bitcoin
