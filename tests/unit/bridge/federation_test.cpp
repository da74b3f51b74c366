// Federation descriptor and per-index policies, and member key files. That
// Bitcoin Core derives the same addresses from the same descriptor is checked
// against a real node in tests/integration/bitcoind_federation_test.cpp.
#include "kray/bridge/federation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/bip39.h"
#include "kray/bitcoin/descriptor.h"
#include "kray/bridge/member_key.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::bridge {
namespace {

// BIP-39's test mnemonics (entropy 00…, 7f…, 80…), so the keys are stable.
const std::array<std::string, 3> kMnemonics = {
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    "legal winner thank year wave sausage worth useful legal winner thank yellow",
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"};

std::array<MemberKey, 3> Members(Network net) {
  std::array<MemberKey, 3> m;
  for (int i = 0; i < 3; ++i) m[i] = *MemberKeyFromMnemonic(net, kMnemonics[i]);
  return m;
}

Federation MakeTestFederation(Network net) {
  auto m = Members(net);
  auto f = Federation::Make(net, {m[0].Xpub(), m[1].Xpub(), m[2].Xpub()});
  EXPECT_TRUE(f.ok()) << f.error().message;
  return *f;
}

TEST(Federation, DescriptorShapeAndChecksum) {
  const Federation f = MakeTestFederation(Network::kRegtest);
  const std::string d = f.Descriptor();
  auto body = bitcoin::CheckDescriptorChecksum(d);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, "tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,sortedmulti_a(2," +
                       f.xpubs()[0] + "/0/*," + f.xpubs()[1] + "/0/*," + f.xpubs()[2] + "/0/*))");
  for (const auto& x : f.xpubs()) EXPECT_EQ(x.rfind("tpub", 0), 0u) << x;
  EXPECT_EQ(MakeTestFederation(Network::kMainnet).xpubs()[0].rfind("xpub", 0), 0u);
}

TEST(Federation, PolicyUsesEachMembersChildKeyAtTheIndex) {
  const auto members = Members(Network::kRegtest);
  const Federation f = MakeTestFederation(Network::kRegtest);
  for (std::uint32_t index : {0u, 1u, 7u, 20u, 1000u, 0x7fffffffu}) {
    SCOPED_TRACE(index);
    // Independently: xpub -> /0 -> /index, x-only, through MakeBridgePolicy.
    std::array<crypto::XOnlyPubKey, 3> keys;
    for (int i = 0; i < 3; ++i) {
      auto parsed = bitcoin::ParseExtKey(members[i].Xpub());
      ASSERT_TRUE(parsed.ok());
      const std::array<std::uint32_t, 2> path = {0, index};
      keys[i] = bitcoin::Bip32XOnly(*bitcoin::Bip32DerivePath(parsed->key, path));
      // The member's signing key for this index is that key's secret.
      auto secret = MemberSigningKey(members[i], index);
      ASSERT_TRUE(secret.ok());
      EXPECT_EQ(*crypto::XOnlyFromSecret(*secret), keys[i]);
    }
    const auto expected = *bitcoin::MakeBridgePolicy(keys);
    auto policy = f.Policy(index);
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->script_pubkey, expected.script_pubkey);
    EXPECT_EQ(policy->keys, expected.keys);
    EXPECT_EQ(*f.Address(index), expected.Address(Network::kRegtest));
    EXPECT_EQ(f.Address(index)->rfind("bcrt1p", 0), 0u);
  }
  EXPECT_NE(*f.Address(0), *f.Address(1));
  EXPECT_EQ(f.Policy(0x80000000u).error().code, "federation_bad_index");
  EXPECT_EQ(MakeTestFederation(Network::kSignet).Address(0)->rfind("tb1p", 0), 0u);
}

TEST(Federation, OrderOfMembersDoesNotChangeAddressesButChangesDescriptor) {
  const auto m = Members(Network::kRegtest);
  const auto a = *Federation::Make(Network::kRegtest, {m[0].Xpub(), m[1].Xpub(), m[2].Xpub()});
  const auto b = *Federation::Make(Network::kRegtest, {m[2].Xpub(), m[0].Xpub(), m[1].Xpub()});
  EXPECT_EQ(*a.Address(5), *b.Address(5));  // sortedmulti_a sorts per index
  EXPECT_NE(a.Descriptor(), b.Descriptor());
}

TEST(Federation, RejectsBadMemberKeys) {
  const auto m = Members(Network::kRegtest);
  const auto main = Members(Network::kMainnet);
  EXPECT_EQ(Federation::Make(Network::kRegtest, {m[0].Xpub(), m[0].Xpub(), m[2].Xpub()}).error().code,
            "federation_duplicate_key");
  EXPECT_EQ(Federation::Make(Network::kRegtest, {m[0].Xprv(), m[1].Xpub(), m[2].Xpub()}).error().code,
            "federation_private_key");
  EXPECT_EQ(Federation::Make(Network::kRegtest, {main[0].Xpub(), m[1].Xpub(), m[2].Xpub()}).error().code,
            "federation_wrong_network");
  EXPECT_EQ(Federation::Make(Network::kMainnet, {m[0].Xpub(), main[1].Xpub(), main[2].Xpub()}).error().code,
            "federation_wrong_network");
  std::string broken = m[1].Xpub();
  broken[20] = broken[20] == 'a' ? 'b' : 'a';
  EXPECT_EQ(Federation::Make(Network::kRegtest, {m[0].Xpub(), broken, m[2].Xpub()}).error().code,
            "extkey_bad_checksum");
  EXPECT_FALSE(Federation::Make(Network::kRegtest, {m[0].Xpub(), "", m[2].Xpub()}).ok());
}

TEST(MemberKey, DerivedAtBip87AccountPath) {
  const MemberKey k = Members(Network::kRegtest)[0];
  EXPECT_EQ(bitcoin::FormatBip32Path(MemberAccountPath(Network::kRegtest)), "m/87'/1'/0'");
  EXPECT_EQ(bitcoin::FormatBip32Path(MemberAccountPath(Network::kMainnet)), "m/87'/0'/0'");
  EXPECT_EQ(k.account.depth, 3);
  EXPECT_EQ(k.Xprv().rfind("tprv", 0), 0u);
  EXPECT_EQ(k.Xpub().rfind("tpub", 0), 0u);
  // The same as BIP-39 seed -> BIP-32 master -> path, step by step.
  auto seed = bitcoin::Bip39MnemonicToSeed(kMnemonics[0], "");
  auto master = bitcoin::Bip32MasterKey(*seed);
  auto account = bitcoin::Bip32DerivePath(*master, MemberAccountPath(Network::kRegtest));
  EXPECT_EQ(k.Xprv(), *bitcoin::EncodeExtPrivKey(*account, Network::kRegtest));
  EXPECT_EQ(k.master_fingerprint, bitcoin::Bip32Fingerprint(*master));
  EXPECT_EQ(MemberKeyFromMnemonic(Network::kRegtest, "abandon abandon").error().code, "bip39_bad_word_count");

  auto fresh = GenerateMemberKey(Network::kRegtest);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(std::count(fresh->mnemonic.begin(), fresh->mnemonic.end(), ' '), 23);  // 24 words
  EXPECT_NE(fresh->Xpub(), k.Xpub());
}

TEST(MemberKey, FileRoundTripWithMode0600) {
  kray::test::TempDir dir;
  MemberKey k = Members(Network::kRegtest)[1];
  k.member = 2;
  const std::string path = dir.file("member2.json");
  ASSERT_TRUE(WriteMemberKeyFile(path, k).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LoadMemberKeyFile(path, Network::kRegtest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->Xprv(), k.Xprv());
  EXPECT_EQ(loaded->mnemonic, k.mnemonic);
  EXPECT_EQ(loaded->member, 2);
  // Never overwrites a key.
  auto again = WriteMemberKeyFile(path, Members(Network::kRegtest)[0]);
  EXPECT_EQ(again.error().code, "member_key_exists");
  EXPECT_EQ(LoadMemberKeyFile(path, Network::kRegtest)->Xprv(), k.Xprv());

  EXPECT_EQ(LoadMemberKeyFile(path, Network::kMainnet).error().code, "member_key_wrong_network");
  EXPECT_EQ(LoadMemberKeyFile(dir.file("none.json"), Network::kRegtest).error().code, "member_key_io");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(LoadMemberKeyFile(path, Network::kRegtest).error().code, "member_key_insecure_permissions");
}

TEST(MemberKey, RejectsTamperedOrMalformedFiles) {
  kray::test::TempDir dir;
  const MemberKey k = Members(Network::kRegtest)[0];
  const MemberKey other = Members(Network::kRegtest)[2];
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string p = dir.file(name);
    std::ofstream(p) << text;
    ::chmod(p.c_str(), 0600);
    return p;
  };
  nlohmann::json j = {{"format", "kray-federation-member/1"},
                      {"network", "regtest"},
                      {"member", 1},
                      {"mnemonic", k.mnemonic},
                      {"xprv", k.Xprv()},
                      {"xpub", other.Xpub()}};
  EXPECT_EQ(LoadMemberKeyFile(write("a.json", j.dump()), Network::kRegtest).error().code, "member_key_mismatch");
  j["xpub"] = k.Xpub();
  EXPECT_TRUE(LoadMemberKeyFile(write("b.json", j.dump()), Network::kRegtest).ok());
  j["format"] = "something/2";
  EXPECT_EQ(LoadMemberKeyFile(write("c.json", j.dump()), Network::kRegtest).error().code, "member_key_malformed");
  EXPECT_EQ(LoadMemberKeyFile(write("d.json", "{not json"), Network::kRegtest).error().code, "member_key_malformed");
  EXPECT_EQ(LoadMemberKeyFile(write("e.json", std::string(70000, ' ')), Network::kRegtest).error().code,
            "member_key_malformed");
}

}  // namespace
}  // namespace kray::bridge
