#include "kray/state/tx_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "kray/crypto/hash.h"
#include "kray/crypto/secp256k1.h"
#include "kray/state/request.h"

namespace kray::state {
namespace {

TEST(LegacyMessage, ExactBytes) {
  std::string s = LegacyTransferString("bcrt1pabc", "kray_0123", 1500, 7);
  EXPECT_EQ(s, "bcrt1pabc:kray_0123:1500:7:transfer");
  EXPECT_EQ(LegacyTransferMessage("bcrt1pabc", "kray_0123", 1500, 7), crypto::Sha256(AsBytes(s)));
  // SHA256("a:b:1:0:transfer") computed independently (sha256sum).
  EXPECT_EQ(ToHex(LegacyTransferMessage("a", "b", 1, 0)),
            "2a939f7e605fba0b7341e9b89a39873bfdcdaf896c56c6dd8624d9440d0c02f4");
}

TEST(V1Message, SerializationIsLengthPrefixedAndSorted) {
  Bytes ser = SerializeV1("c", "op", "id", 0x0102, {{"z", "1"}, {"a", ""}});
  Bytes expect = {0,   0,   0, 1, 'c', 0, 0, 0, 2, 'o', 'p', 0, 0, 0, 2,
                  'i', 'd', 0, 0, 0,   0, 0, 0, 1, 2,   0,   0, 0, 2,  // two fields
                  0,   0,   0, 1, 'a', 0, 0, 0, 0,                     // a = ""
                  0,   0,   0, 1, 'z', 0, 0, 0, 1, '1'};               // z = "1"
  EXPECT_EQ(ser, expect);
  EXPECT_EQ(SigningMessageV1("c", "op", "id", 0x0102, {{"z", "1"}, {"a", ""}}),
            crypto::TaggedHash("KRAY/tx/v1", expect));
  // Field order given by the caller does not matter.
  EXPECT_EQ(SigningMessageV1("c", "op", "id", 1, {{"a", "1"}, {"b", "2"}}),
            SigningMessageV1("c", "op", "id", 1, {{"b", "2"}, {"a", "1"}}));
  // Length prefixes prevent boundary shifting.
  EXPECT_NE(SigningMessageV1("c", "op", "id", 1, {{"ab", "c"}}), SigningMessageV1("c", "op", "id", 1, {{"a", "bc"}}));
}

TEST(V1Message, BindsEveryField) {
  const Hash256 base = TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "KRAY", 100, 3, "");
  EXPECT_EQ(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "KRAY", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-mainnet-1", "transfer", "kray_a", "kray_b", "KRAY", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "swap", "kray_a", "kray_b", "KRAY", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_x", "kray_b", "KRAY", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_x", "KRAY", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "BTC", 100, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "KRAY", 101, 3, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "KRAY", 100, 4, ""));
  EXPECT_NE(base, TransferMessageV1("kray-regtest-1", "transfer", "kray_a", "kray_b", "KRAY", 100, 3, "memo"));
  EXPECT_EQ(base, SigningMessageV1("kray-regtest-1", "transfer", "kray_a", 3,
                                   {{"to", "kray_b"}, {"asset", "KRAY"}, {"amount", "100"}, {"data", ""}}));
}

TEST(AccountId, IsKrayPrefixAndHashOfAddress) {
  std::string addr = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";
  std::string id = AccountIdFromAddress(addr);
  EXPECT_EQ(id, "kray_" + ToHex(crypto::Sha256(AsBytes(addr))).substr(0, 32));
  EXPECT_EQ(id, "kray_3f385eb703a5fc2bacbee9b1b7de87dd");
  EXPECT_TRUE(IsAccountId(id));
  EXPECT_FALSE(IsAccountId("kray_3F385EB703A5FC2BACBEE9B1B7DE87DD"));
  EXPECT_FALSE(IsAccountId("kray_3f38"));
  EXPECT_FALSE(IsAccountId(addr));
}

// Resolving an address is memoised (src/state/request.cpp): a repeat, in
// either case, gives what the first resolution gave, and an address seen on
// one network stays foreign to another (the memo's key holds the hrp).
TEST(ResolveAccount, AnAddressResolvesTheSameEveryTimeAndOnlyOnItsNetwork) {
  const std::string addr = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";
  std::string upper = addr;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  ChainParams regtest;
  for (const std::string& named : {addr, addr, upper, upper}) {
    auto r = ResolveAccount(regtest, named);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->account_id, "kray_3f385eb703a5fc2bacbee9b1b7de87dd");
    EXPECT_EQ(r->address, addr);
    auto canonical = CanonicalP2trAddress(regtest, named);
    ASSERT_TRUE(canonical.ok());
    EXPECT_EQ(*canonical, addr);
  }
  ChainParams mainnet;
  mainnet.network = Network::kMainnet;
  auto foreign = ResolveAccount(mainnet, addr);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, "invalid_account");
  EXPECT_FALSE(CanonicalP2trAddress(mainnet, addr).ok());
  // An account id names no address.
  auto id = ResolveAccount(regtest, "kray_3f385eb703a5fc2bacbee9b1b7de87dd");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->address, "");
}

// The worked example in docs/SIGNING.md (dev account 1 -> dev account 2).
TEST(SigningDoc, WorkedExampleMatches) {
  const std::string a1 = "bcrt1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tq6kghfj";
  const std::string a2 = "bcrt1p7vj0cv366fkpahwzunnmslxu3nxk827tyxp9cyylmnmwuwdvtq4swmmrvf";
  const std::string id1 = AccountIdFromAddress(a1), id2 = AccountIdFromAddress(a2);
  EXPECT_EQ(id2, "kray_18f3c6a29ed2ec0773aa63430d966a42");
  EXPECT_EQ(ToHex(LegacyTransferMessage(a1, id2, 1000, 0)),
            "64f5a2a3be80aed15df86b395f23c30ab4c000da253c2d7deced94d3b252c112");
  EXPECT_EQ(ToHex(TransferMessageV1("kray-regtest-1", "transfer", id1, id2, "KRAY", 1000, 0, "")),
            "bdf2a76d69a453d779cf3db1e7bdbcb07db7d8156a75e1e3612fdb4029f3ad23");
  auto pub = FromHexFixed<32>("c11d54df8692c3e39898810701fdb6109660b0aaf4cc7c7c4a9bb686354d321e");
  auto sig = FromHexFixed<64>(
      "a7c8f1bb2e1484656a3fe05946a8fa7c44339bd68a772635d3da0155a9d9656a61d1cea2a7ba96c4cbdc07d2d8c3947dd87f57e530b00bb5"
      "da1ed9be9d3e8987");
  Hash256 msg = TransferMessageV1("kray-regtest-1", "transfer", id1, id2, "KRAY", 1000, 0, "");
  EXPECT_TRUE(crypto::SchnorrVerify(*pub, msg, *sig));
}

// Lower-case hex digits only (IsAccountId is a table lookup per digit):
// every byte value in the first and in the last digit.
TEST(AccountId, OnlyLowerCaseHexDigitsMakeAnAccountId) {
  const std::string base = "kray_" + std::string(32, '0');
  ASSERT_TRUE(IsAccountId(base));
  for (std::size_t pos : {std::size_t{5}, base.size() - 1}) {
    for (int c = 0; c < 256; ++c) {
      std::string id = base;
      id[pos] = static_cast<char>(c);
      const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      EXPECT_EQ(IsAccountId(id), digit) << pos << " " << c;
    }
  }
  EXPECT_FALSE(IsAccountId("kray_" + std::string(31, '0')));
  EXPECT_FALSE(IsAccountId("kray_" + std::string(33, '0')));
  EXPECT_FALSE(IsAccountId("krab_" + std::string(32, '0')));
}

}  // namespace
}  // namespace kray::state
