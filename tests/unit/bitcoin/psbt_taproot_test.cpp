// Taproot PSBT roles beyond the bridge multisig: a single-key pk() leaf and
// a key-path spend (BIP-371 PSBT_IN_TAP_KEY_SIG), finalized and extracted.
#include <gtest/gtest.h>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/multisig.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"

namespace kray::bitcoin {
namespace {

crypto::SecretKey Key(std::uint8_t b) {
  crypto::SecretKey k{};
  k.fill(b);
  return k;
}

Psbt SpendOf(const Bytes& spk) {
  Transaction tx;
  TxIn in;
  in.prevout.txid.fill(0x01);
  tx.vin.push_back(in);
  tx.vout.push_back({40'000, P2wpkhScript(Bytes(20, 0x22))});
  Psbt p = CreatePsbt(tx).value();
  p.inputs[0].SetWitnessUtxo({50'000, spk});
  return p;
}

TEST(PsbtTaproot, PkLeafScriptPath) {
  const auto sk = Key(0x07);
  const auto xonly = *crypto::XOnlyFromSecret(sk);
  ScriptBuilder b;
  b.PushRaw(xonly).Op(OP_CHECKSIG);
  TapTree leaf = TapTree::Leaf(b.Take());
  auto info = ComputeTaprootSpendInfo(kNumsInternalKey, &leaf);
  ASSERT_TRUE(info.ok());
  Psbt p = SpendOf(info->script_pubkey);
  p.inputs[0].SetTapLeafScript({info->leaves[0].control_block, info->leaves[0].script, kTapscriptLeafVersion});
  p.inputs[0].SetSighashType(kSighashAll);  // 65-byte signature
  ASSERT_TRUE(SignPsbtTapscript(p, 0, sk).ok());
  auto sigs = p.inputs[0].TapScriptSigs();
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_EQ(sigs.begin()->second.size(), 65u);
  EXPECT_EQ(sigs.begin()->second.back(), kSighashAll);
  ASSERT_TRUE(FinalizePsbt(p).ok());
  auto w = p.inputs[0].FinalScriptWitness();
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 3u);
  EXPECT_EQ((*w)[0], sigs.begin()->second);
  EXPECT_EQ((*w)[1], info->leaves[0].script);
  EXPECT_EQ((*w)[2], info->leaves[0].control_block);
  EXPECT_TRUE(p.inputs[0].TapLeafScripts().empty());  // cleared by the finalizer
  EXPECT_EQ(PsbtFee(p), 10'000);
  auto tx = ExtractTransaction(p);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->vin[0].witness, *w);
}

TEST(PsbtTaproot, KeyPathSignatureIsVerified) {
  const auto sk = Key(0x09);
  const auto internal = *crypto::XOnlyFromSecret(sk);
  auto info = ComputeTaprootSpendInfo(internal, nullptr);
  ASSERT_TRUE(info.ok());
  Psbt p = SpendOf(info->script_pubkey);
  p.inputs[0].SetTapInternalKey(internal);
  auto h = TaprootSighash(p.tx, {{50'000, info->script_pubkey}}, 0, kSighashDefault);
  ASSERT_TRUE(h.ok());
  auto sig = SignTaprootKeyPath(sk, std::nullopt, *h, kSighashDefault, {});
  ASSERT_TRUE(sig.has_value());
  Psbt bad = p;
  Bytes corrupt = *sig;
  corrupt[0] ^= 1;
  bad.inputs[0].map[Bytes{psbt::kInTapKeySig}] = corrupt;
  auto st = FinalizePsbtInput(bad, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "psbt_invalid_signature");

  p.inputs[0].map[Bytes{psbt::kInTapKeySig}] = *sig;
  auto reparsed = ParsePsbt(SerializePsbt(p));
  ASSERT_TRUE(reparsed.ok());
  ASSERT_TRUE(FinalizePsbt(*reparsed).ok());
  auto w = reparsed->inputs[0].FinalScriptWitness();
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 1u);
  EXPECT_EQ((*w)[0], *sig);
  EXPECT_FALSE(reparsed->inputs[0].TapInternalKey().has_value());
}

// Output taproot fields round-trip through the typed writers.
TEST(PsbtTaproot, OutputTapTreeRoundTrip) {
  Psbt p = SpendOf(P2trScript(Bytes(32, 0x33)));
  std::vector<TapTreeLeaf> tree = {{1, 0xc0, Bytes{0x51}}, {2, 0xc0, Bytes{0x52}}, {2, 0xc0, Bytes{0x53}}};
  p.outputs[0].SetTapTree(tree);
  p.outputs[0].SetTapInternalKey(kNumsInternalKey);
  auto r = ParsePsbt(SerializePsbt(p));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto t = r->outputs[0].TapTree();
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[2].script, Bytes{0x53});
  // An incomplete tree (two leaves at depth 2 only) is rejected by the parser.
  p.outputs[0].SetTapTree({{2, 0xc0, Bytes{0x51}}, {2, 0xc0, Bytes{0x52}}});
  auto bad = ParsePsbt(SerializePsbt(p));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "psbt_bad_value");
}

}  // namespace
}  // namespace kray::bitcoin
