// The bridge 2-of-3 policy: leaf script, NUMS internal key, descriptor,
// addresses, and a signed script-path spend checked by executing the leaf.
#include "kray/bitcoin/multisig.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "kray/bitcoin/descriptor.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

crypto::SecretKey Sk(std::uint8_t b) {
  crypto::SecretKey k{};
  k.fill(b);
  return k;
}

// Executes the tapscript subset used by multi_a leaves (BIP-342 semantics
// for CHECKSIG/CHECKSIGADD: empty signature -> push false / leave n).
bool RunMultiA(const Bytes& script, std::vector<Bytes> stack, const Hash256& sighash) {
  auto num = [](const Bytes& b) -> std::int64_t {
    if (b.empty()) return 0;
    return b.size() == 1 && b[0] <= 16 ? b[0] : -1000;
  };
  auto verify = [&](const Bytes& sig, const Bytes& key) {
    if (sig.size() != 64 && sig.size() != 65) return false;
    crypto::XOnlyPubKey k;
    std::copy(key.begin(), key.end(), k.begin());
    crypto::SchnorrSig s;
    std::copy(sig.begin(), sig.begin() + 64, s.begin());
    return crypto::SchnorrVerify(k, sighash, s);
  };
  ScriptIterator it(script);
  ScriptOp op;
  while (it.Next(op)) {
    if (op.opcode > OP_0 && op.opcode <= OP_PUSHDATA4) {
      stack.emplace_back(op.data.begin(), op.data.end());
    } else if (auto n = DecodeOpN(op.opcode)) {
      stack.push_back(n == 0 ? Bytes{} : Bytes{static_cast<std::uint8_t>(*n)});
    } else if (op.opcode == OP_CHECKSIG) {
      if (stack.size() < 2) return false;
      Bytes key = stack.back();
      stack.pop_back();
      Bytes sig = stack.back();
      stack.pop_back();
      if (!sig.empty() && !verify(sig, key)) return false;  // BIP-342: failed non-empty sig aborts
      stack.push_back(sig.empty() ? Bytes{} : Bytes{1});
    } else if (op.opcode == OP_CHECKSIGADD) {
      if (stack.size() < 3) return false;
      Bytes key = stack.back();
      stack.pop_back();
      std::int64_t n = num(stack.back());
      stack.pop_back();
      Bytes sig = stack.back();
      stack.pop_back();
      if (!sig.empty() && !verify(sig, key)) return false;
      n += sig.empty() ? 0 : 1;
      stack.push_back(n == 0 ? Bytes{} : Bytes{static_cast<std::uint8_t>(n)});
    } else if (op.opcode == OP_NUMEQUAL) {
      if (stack.size() < 2) return false;
      std::int64_t a = num(stack.back());
      stack.pop_back();
      std::int64_t b = num(stack.back());
      stack.pop_back();
      stack.push_back(a == b ? Bytes{1} : Bytes{});
    } else {
      return false;
    }
  }
  return it.ok() && stack.size() == 1 && stack[0] == Bytes{1};
}

TEST(Multisig, NumsKeyIsBip341H) {
  // H = lift_x(SHA256(uncompressed G)): its x coordinate is the hash itself.
  const Bytes g = *FromHex(
      "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a6"
      "8554199c47d08ffb10d4b8");
  EXPECT_EQ(crypto::Sha256(g), kNumsInternalKey);
  EXPECT_TRUE(crypto::IsValidXOnly(kNumsInternalKey));
}

// BIP-387 test vector: tr(a34b99f2..., multi_a(1, 669b8afc...)).
TEST(Bip387, MultiALeaf) {
  const auto internal = *FromHexFixed<32>("a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd");
  const auto k = *FromHexFixed<32>("669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0");
  const TapTree tree = TapTree::Leaf(MultiALeafScript(1, {k}));
  auto info = ComputeTaprootSpendInfo(internal, &tree);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(ToHex(info->script_pubkey), "5120eb5bd3894327d75093891cc3a62506df7d58ec137fcd104cdd285d67816074f3");
}

TEST(Multisig, PolicyShape) {
  std::array<crypto::XOnlyPubKey, 3> keys{*crypto::XOnlyFromSecret(Sk(3)), *crypto::XOnlyFromSecret(Sk(1)),
                                          *crypto::XOnlyFromSecret(Sk(2))};
  auto p = MakeBridgePolicy(keys);
  ASSERT_TRUE(p.ok()) << p.error().message;
  std::array<crypto::XOnlyPubKey, 3> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(p->keys, sorted);
  // Order of the inputs does not matter (sortedmulti_a).
  std::array<crypto::XOnlyPubKey, 3> rotated{keys[1], keys[2], keys[0]};
  auto p2 = MakeBridgePolicy(rotated);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->output_key, p->output_key);

  const std::string leaf =
      "20" + ToHex(sorted[0]) + "ac" + "20" + ToHex(sorted[1]) + "ba" + "20" + ToHex(sorted[2]) + "ba" + "52" + "9c";
  EXPECT_EQ(ToHex(p->leaf_script), leaf);
  EXPECT_EQ(ScriptToAsm(p->leaf_script), ToHex(sorted[0]) + " OP_CHECKSIG " + ToHex(sorted[1]) + " OP_CHECKSIGADD " +
                                             ToHex(sorted[2]) + " OP_CHECKSIGADD OP_2 OP_NUMEQUAL");
  EXPECT_EQ(p->internal_key, kNumsInternalKey);
  EXPECT_EQ(p->leaf_hash, TapLeafHash(0xc0, p->leaf_script));
  EXPECT_EQ(p->merkle_root, p->leaf_hash);
  ASSERT_EQ(p->control_block.size(), 33u);
  EXPECT_EQ(p->control_block[0], 0xc0 | (p->output_key_odd ? 1 : 0));
  EXPECT_TRUE(VerifyTaprootCommitment(p->output_key, p->control_block, p->leaf_script));
  EXPECT_EQ(ToHex(p->script_pubkey), "5120" + ToHex(p->output_key));

  EXPECT_EQ(p->Address(Network::kMainnet).rfind("bc1p", 0), 0u);
  EXPECT_EQ(p->Address(Network::kTestnet).rfind("tb1p", 0), 0u);
  EXPECT_EQ(p->Address(Network::kRegtest).rfind("bcrt1p", 0), 0u);

  const std::string desc = p->Descriptor();
  const std::string body = "tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,sortedmulti_a(2," +
                           ToHex(sorted[0]) + "," + ToHex(sorted[1]) + "," + ToHex(sorted[2]) + "))";
  ASSERT_EQ(desc.size(), body.size() + 9);
  EXPECT_EQ(desc.substr(0, body.size()), body);
  auto checked = CheckDescriptorChecksum(desc);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(*checked, body);
}

TEST(Multisig, Errors) {
  const auto k1 = *crypto::XOnlyFromSecret(Sk(1));
  const auto k2 = *crypto::XOnlyFromSecret(Sk(2));
  EXPECT_EQ(MakeBridgePolicy({k1, k2, k1}).error().code, "multisig_duplicate_key");
  EXPECT_EQ(MakeBridgePolicy({k1, k2, crypto::XOnlyPubKey{}}).error().code, "multisig_invalid_key");
  auto p = MakeBridgePolicy({k1, k2, *crypto::XOnlyFromSecret(Sk(3))});
  ASSERT_TRUE(p.ok());
  const Bytes sig(64, 1);
  EXPECT_EQ(BuildBridgeWitness(*p, {{k1, sig}}).error().code, "multisig_not_enough_signatures");
  EXPECT_EQ(BuildBridgeWitness(*p, {{k1, sig}, {*crypto::XOnlyFromSecret(Sk(4)), sig}}).error().code,
            "multisig_unknown_key");
  EXPECT_EQ(BuildBridgeWitness(*p, {{k1, sig}, {k2, Bytes(63, 1)}}).error().code, "multisig_bad_signature_size");
  Bytes bad65(65, 1);
  bad65[64] = 0;
  EXPECT_EQ(BuildBridgeWitness(*p, {{k1, sig}, {k2, bad65}}).error().code, "multisig_bad_signature_size");
}

TEST(Multisig, SignedScriptPathSpendExecutes) {
  const std::array<crypto::SecretKey, 3> sks{Sk(7), Sk(8), Sk(9)};
  std::array<crypto::XOnlyPubKey, 3> keys;
  for (int i = 0; i < 3; ++i) keys[i] = *crypto::XOnlyFromSecret(sks[i]);
  auto p = MakeBridgePolicy(keys);
  ASSERT_TRUE(p.ok());

  Transaction tx;
  tx.vin.resize(1);
  tx.vin[0].prevout.txid.fill(0x5a);
  tx.vout.push_back(TxOut{90'000, p->script_pubkey});
  const std::vector<TxOut> spent{TxOut{100'000, p->script_pubkey}};
  auto sighash = TaprootSighash(tx, spent, 0, kSighashDefault, std::nullopt, TapscriptExt{p->leaf_hash});
  ASSERT_TRUE(sighash.ok());

  auto sign = [&](int i) { return *SignTapscript(sks[i], *sighash, kSighashDefault, {}); };
  // Every pair of signers, given in any order, yields an executable witness.
  for (int skip = 0; skip < 3; ++skip) {
    SCOPED_TRACE("missing signer " + std::to_string(skip));
    std::vector<std::pair<crypto::XOnlyPubKey, Bytes>> sigs;
    for (int i = 2; i >= 0; --i)
      if (i != skip) sigs.emplace_back(keys[i], sign(i));
    auto w = BuildBridgeWitness(*p, sigs);
    ASSERT_TRUE(w.ok()) << w.error().message;
    ASSERT_EQ(w->size(), 5u);
    EXPECT_EQ((*w)[3], p->leaf_script);
    EXPECT_EQ((*w)[4], p->control_block);
    // Witness position j holds the signature for sorted key 2 - j.
    int empties = 0;
    for (int j = 0; j < 3; ++j) {
      const auto& key = p->keys[2 - j];
      const int owner = static_cast<int>(std::find(keys.begin(), keys.end(), key) - keys.begin());
      if (owner == skip) {
        EXPECT_TRUE((*w)[j].empty());
        ++empties;
      } else {
        EXPECT_EQ((*w)[j], sign(owner));
      }
    }
    EXPECT_EQ(empties, 1);
    EXPECT_TRUE(RunMultiA(p->leaf_script, {(*w)[0], (*w)[1], (*w)[2]}, *sighash));
    // Reversed element order must not execute (signatures against the wrong keys).
    EXPECT_FALSE(RunMultiA(p->leaf_script, {(*w)[2], (*w)[1], (*w)[0]}, *sighash));
  }
  // Three signatures: only two are used, so the NUMEQUAL 2 still holds.
  auto w3 = BuildBridgeWitness(*p, {{keys[0], sign(0)}, {keys[1], sign(1)}, {keys[2], sign(2)}});
  ASSERT_TRUE(w3.ok());
  EXPECT_TRUE((*w3)[0].empty());
  EXPECT_TRUE(RunMultiA(p->leaf_script, {(*w3)[0], (*w3)[1], (*w3)[2]}, *sighash));
}

}  // namespace
}  // namespace kray::bitcoin
