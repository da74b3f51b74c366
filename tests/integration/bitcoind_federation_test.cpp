// The federation descriptor against Bitcoin Core: Core computes the same
// BIP-380 checksum, derives the same 2-of-3 addresses for indexes 0..20
// (deriveaddresses), and a watch-only descriptor wallet importing the
// descriptor hands out exactly krayd's addresses (getnewaddress) and sees a
// payment to one of them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "kray/bridge/federation.h"
#include "kray/bridge/member_key.h"
#include "kray/testsupport/bitcoind.h"
#include "kray/testsupport/node.h"  // KrayCliPath

namespace kray::test {
namespace {

using nlohmann::json;

constexpr int kLast = 20;

class BitcoindFederationTest : public BitcoindTest {
 protected:
  // A federation of three fresh member keys (random each run).
  bridge::Federation NewFederation() {
    std::array<std::string, 3> xpubs;
    for (auto& x : xpubs) x = bridge::GenerateMemberKey(Network::kRegtest)->Xpub();
    auto f = bridge::Federation::Make(Network::kRegtest, xpubs);
    EXPECT_TRUE(f.ok()) << f.error().message;
    return *f;
  }
};

TEST_F(BitcoindFederationTest, CoreComputesTheSameChecksum) {
  const bridge::Federation f = NewFederation();
  const std::string desc = f.Descriptor();
  const std::string body = desc.substr(0, desc.find('#'));
  const json info = bitcoind_.Call("getdescriptorinfo", json::array({body}));
  EXPECT_EQ(info["checksum"], desc.substr(desc.find('#') + 1));
  EXPECT_EQ(info["descriptor"], desc);  // Core's canonical form is ours
  EXPECT_EQ(info["isrange"], true);
  EXPECT_EQ(info["issolvable"], true);
  EXPECT_EQ(info["hasprivatekeys"], false);
}

TEST_F(BitcoindFederationTest, CoreDerivesTheSameAddresses) {
  const bridge::Federation f = NewFederation();
  const json derived = bitcoind_.Call("deriveaddresses", {f.Descriptor(), {0, kLast}});
  ASSERT_EQ(derived.size(), static_cast<std::size_t>(kLast + 1));
  for (int i = 0; i <= kLast; ++i) EXPECT_EQ(derived[i], *f.Address(i)) << "index " << i;
}

TEST_F(BitcoindFederationTest, WatchOnlyWalletHandsOutTheSameAddresses) {
  const bridge::Federation f = NewFederation();
  // createwallet name disable_private_keys blank passphrase avoid_reuse descriptors
  bitcoind_.Call("createwallet", {"bridge", true, true, "", false, true});
  const json imported = bitcoind_.Call(
      "importdescriptors",
      json::array(
          {json::array({{{"desc", f.Descriptor()}, {"timestamp", "now"}, {"range", {0, kLast}}, {"active", true}}})}),
      "bridge");
  ASSERT_TRUE(imported.is_array() && imported.size() == 1) << imported.dump();
  ASSERT_EQ(imported[0]["success"], true) << imported.dump();

  for (int i = 0; i <= kLast; ++i) {
    const json addr = bitcoind_.Call("getnewaddress", {"", "bech32m"}, "bridge");
    EXPECT_EQ(addr, *f.Address(i)) << "index " << i;
  }
  const json listed = bitcoind_.Call("listdescriptors", json::array(), "bridge");
  bool found = false;
  for (const auto& d : listed["descriptors"]) {
    if (d["desc"] == f.Descriptor()) {
      found = true;
      EXPECT_EQ(d["active"], true);
      EXPECT_EQ(d["next_index"], kLast + 1);
    }
  }
  EXPECT_TRUE(found) << listed.dump();

  // A deposit to address 7 is seen by the watch-only wallet.
  CreateWallet("payer");
  Mine(101, NewAddress("payer"));
  const std::string txid = bitcoind_.Call("sendtoaddress", {*f.Address(7), "0.5"}, "payer");
  Mine(1, NewAddress("payer"));
  const json received = bitcoind_.Call("getreceivedbyaddress", json::array({*f.Address(7)}), "bridge");
  EXPECT_EQ(received, "0.50000000");
  const json info = bitcoind_.Call("getaddressinfo", json::array({*f.Address(7)}), "bridge");
  EXPECT_EQ(info["ismine"], true);  // watch-only descriptor wallets report their scripts as mine
  EXPECT_EQ(info["solvable"], true);
  EXPECT_FALSE(txid.empty());
}

// kray-cli federation-init: three 0600 key files whose xpubs make a
// descriptor Bitcoin Core accepts and derives the printed address from.
TEST_F(BitcoindFederationTest, FederationInitMakesKeysCoreAgreesWith) {
  TempDir dir;
  const std::string out = dir.file("fed");
  const std::string cli = KrayCliPath() + " federation-init -network=regtest -out=" + out;
  ShellResult r = RunShell(cli + " 2>&1");
  ASSERT_EQ(r.rc, 0) << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(r.out.find("mnemonic"), std::string::npos) << "secrets printed without -show-secrets";
  std::array<std::string, 3> xpubs;
  for (int i = 0; i < 3; ++i) {
    const std::string file = j["members"][i]["file"];
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
    auto key = bridge::LoadMemberKeyFile(file, Network::kRegtest);
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->member, i + 1);
    xpubs[i] = key->Xpub();
    EXPECT_EQ(j["members"][i]["xpub"], xpubs[i]);
    EXPECT_EQ(j["config"][i], "bridgexpub" + std::to_string(i + 1) + "=" + xpubs[i]);
  }
  const auto f = bridge::Federation::Make(Network::kRegtest, xpubs);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(j["descriptor"], f->Descriptor());
  const json derived = bitcoind_.Call("deriveaddresses", {f->Descriptor(), {0, 0}});
  EXPECT_EQ(derived[0], j["address_0"]);

  // Never overwrites keys; -show-secrets prints the mnemonics.
  r = RunShell(cli + " 2>&1");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("member_key_exists"), std::string::npos) << r.out;
  r = RunShell(KrayCliPath() + " federation-init -out=" + dir.file("fed2") + " -show-secrets 2>&1");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["members"][2]["mnemonic"].get<std::string>().size() > 0, true);

  // federation-address derives the same addresses from the xpubs.
  r = RunShell(KrayCliPath() + " federation-address " + xpubs[0] + " " + xpubs[1] + " " + xpubs[2] +
               " -index=3 -count=2 2>&1");
  ASSERT_EQ(r.rc, 0) << r.out;
  const json a = json::parse(r.out);
  EXPECT_EQ(a["addresses"][0]["address"], *f->Address(3));
  EXPECT_EQ(a["addresses"][1]["address"], *f->Address(4));
}

}  // namespace
}  // namespace kray::test
