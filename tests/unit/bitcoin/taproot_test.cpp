// BIP-341 wallet test vectors, "scriptPubKey" group: script trees, leaf
// hashes, merkle roots, tweaks, output keys, addresses and control blocks.
// Also BIP-86 (address part) and BIP-386's key-path tr() vector.
#include "kray/bitcoin/taproot.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/taproot_key.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using nlohmann::json;

using ::kray::testing::LoadVector;

crypto::XOnlyPubKey Key(const std::string& hex) {
  auto k = FromHexFixed<32>(hex);
  EXPECT_TRUE(k.has_value()) << hex;
  return k.value_or(crypto::XOnlyPubKey{});
}

// Converts the vector's tree (leaf object or 2-element array) and records the
// leaf ids in depth-first order.
TapTree TreeFromJson(const json& j, std::vector<int>& ids) {
  if (j.is_array()) {
    TapTree left = TreeFromJson(j.at(0), ids);
    TapTree right = TreeFromJson(j.at(1), ids);
    return TapTree::Branch(std::move(left), std::move(right));
  }
  ids.push_back(j.at("id").get<int>());
  return TapTree::Leaf(*FromHex(j.at("script").get<std::string>()), j.at("leafVersion").get<std::uint8_t>());
}

TEST(Bip341Vectors, ScriptPubKey) {
  const json v = LoadVector("bip341-wallet-test-vectors.json");
  const json& cases = v.at("scriptPubKey");
  ASSERT_EQ(cases.size(), 7u);
  int n = 0;
  for (const json& c : cases) {
    SCOPED_TRACE("scriptPubKey[" + std::to_string(n++) +
                 "] internalPubkey=" + c["given"]["internalPubkey"].get<std::string>());
    const auto internal = Key(c["given"]["internalPubkey"]);
    std::vector<int> ids;
    std::optional<TapTree> tree;
    if (!c["given"]["scriptTree"].is_null()) tree = TreeFromJson(c["given"]["scriptTree"], ids);
    auto info = ComputeTaprootSpendInfo(internal, tree ? &*tree : nullptr);
    ASSERT_TRUE(info.ok()) << info.error().message;
    const json& mid = c["intermediary"];
    if (tree) {
      ASSERT_TRUE(info->merkle_root.has_value());
      EXPECT_EQ(ToHex(*info->merkle_root), mid["merkleRoot"].get<std::string>());
      ASSERT_EQ(info->leaves.size(), ids.size());
      const json& hashes = mid["leafHashes"];
      const json& cbs = c["expected"]["scriptPathControlBlocks"];
      for (std::size_t i = 0; i < ids.size(); ++i) {
        SCOPED_TRACE("leaf id " + std::to_string(ids[i]));
        EXPECT_EQ(ToHex(info->leaves[i].leaf_hash), hashes.at(ids[i]).get<std::string>());
        EXPECT_EQ(ToHex(info->leaves[i].control_block), cbs.at(ids[i]).get<std::string>());
        // The control block must verify against the output key and commit to this leaf only.
        EXPECT_TRUE(VerifyTaprootCommitment(info->output_key, info->leaves[i].control_block, info->leaves[i].script));
        Bytes other = info->leaves[i].script;
        other.push_back(0x51);
        EXPECT_FALSE(VerifyTaprootCommitment(info->output_key, info->leaves[i].control_block, other));
        auto parsed = ParseControlBlock(info->leaves[i].control_block);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(SerializeControlBlock(*parsed), info->leaves[i].control_block);
      }
    } else {
      EXPECT_TRUE(mid["merkleRoot"].is_null());
      EXPECT_FALSE(info->merkle_root.has_value());
      EXPECT_TRUE(info->leaves.empty());
    }
    EXPECT_EQ(ToHex(info->tweak), mid["tweak"].get<std::string>());
    EXPECT_EQ(ToHex(info->output_key), mid["tweakedPubkey"].get<std::string>());
    EXPECT_EQ(ToHex(info->script_pubkey), c["expected"]["scriptPubKey"].get<std::string>());
    auto addr = ScriptPubKeyToAddress(info->script_pubkey, Network::kMainnet);
    ASSERT_TRUE(addr.ok());
    EXPECT_EQ(*addr, c["expected"]["bip350Address"].get<std::string>());
    auto back = AddressToScriptPubKey(*addr, Network::kMainnet);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, info->script_pubkey);
  }
}

TEST(Bip86Vectors, AddressFromInternalKey) {
  const json v = LoadVector("bip86.json");
  ASSERT_EQ(v.at("addresses").size(), 3u);
  for (const json& a : v.at("addresses")) {
    SCOPED_TRACE(a["description"].get<std::string>() + " " + a["path"].get<std::string>());
    auto info = ComputeTaprootSpendInfo(Key(a["internal_key"]), nullptr);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(ToHex(info->output_key), a["output_key"].get<std::string>());
    EXPECT_EQ(ToHex(info->script_pubkey), a["scriptPubKey"].get<std::string>());
    auto addr = ScriptPubKeyToAddress(info->script_pubkey, Network::kMainnet);
    ASSERT_TRUE(addr.ok());
    EXPECT_EQ(*addr, a["address"].get<std::string>());
  }
}

// BIP-386 test vector: tr(a34b99f2...) -> 512077aab6...
TEST(Bip386, KeyPathOnlyTr) {
  auto info = ComputeTaprootSpendInfo(Key("a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"), nullptr);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(ToHex(info->script_pubkey), "512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11");
}

TEST(Taproot, RejectsBadTreesAndKeys) {
  crypto::XOnlyPubKey bad{};  // x = 0 is not on the curve
  EXPECT_EQ(ComputeTaprootSpendInfo(bad, nullptr).error().code, "invalid_internal_key");
  const auto good = Key("d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d");
  TapTree odd_version = TapTree::Leaf(Bytes{0x51}, 0xc1);
  EXPECT_EQ(ComputeTaprootSpendInfo(good, &odd_version).error().code, "invalid_tap_tree");
  TapTree annex_version = TapTree::Leaf(Bytes{0x51}, 0x50);
  EXPECT_EQ(ComputeTaprootSpendInfo(good, &annex_version).error().code, "invalid_tap_tree");
  TapTree one_child;
  one_child.children.push_back(TapTree::Leaf(Bytes{0x51}));
  EXPECT_EQ(ComputeTaprootSpendInfo(good, &one_child).error().code, "invalid_tap_tree");
}

TEST(Taproot, ControlBlockSizes) {
  EXPECT_FALSE(ParseControlBlock(Bytes(32, 0xc0)).ok());
  EXPECT_TRUE(ParseControlBlock(Bytes(33, 0xc0)).ok());
  EXPECT_FALSE(ParseControlBlock(Bytes(34, 0xc0)).ok());
  EXPECT_TRUE(ParseControlBlock(Bytes(33 + 32 * 128, 0xc0)).ok());
  EXPECT_FALSE(ParseControlBlock(Bytes(33 + 32 * 129, 0xc0)).ok());
  auto cb = ParseControlBlock(Bytes(65, 0xc1));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->leaf_version, 0xc0);
  EXPECT_TRUE(cb->output_key_odd);
  EXPECT_EQ(cb->merkle_path.size(), 1u);
}

TEST(Taproot, BranchHashIsOrderIndependent) {
  Hash256 a{}, b{};
  a[0] = 1;
  b[0] = 2;
  EXPECT_EQ(TapBranchHash(a, b), TapBranchHash(b, a));
  EXPECT_NE(TapBranchHash(a, b), TapBranchHash(a, a));
}

}  // namespace
}  // namespace kray::bitcoin
