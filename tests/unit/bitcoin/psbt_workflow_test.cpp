// BIP-174 role walk-through (creator ... extractor), the combiner vector with
// unknown keys, the signer-check vectors, and the bridge's taproot 2-of-3
// script-path signer/finalizer.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/multisig.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"
#include "kray/crypto/hash.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using ::kray::testing::LoadVector;

Psbt MustParse(const nlohmann::json& expected_psbt) {
  auto r = ParsePsbtBase64(expected_psbt["base64"].get<std::string>());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(*r) : Psbt{};
}

std::string HexOf(const Psbt& p) {
  return ToHex(SerializePsbt(p));
}

std::vector<std::uint32_t> ParsePath(const std::string& path) {
  std::vector<std::uint32_t> out;
  std::size_t pos = 2;  // skip "m/"
  while (pos < path.size()) {
    std::size_t end = path.find('/', pos);
    std::string part = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    bool hardened = !part.empty() && part.back() == '\'';
    if (hardened) part.pop_back();
    out.push_back(static_cast<std::uint32_t>(std::stoul(part)) | (hardened ? 0x80000000u : 0));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

// Master fingerprint = HASH160(master pubkey)[0..4], from the tprv (BIP-32).
std::array<std::uint8_t, 4> MasterFingerprint(const std::string& tprv) {
  auto raw = Base58CheckDecode(tprv);
  EXPECT_TRUE(raw.ok());
  std::array<std::uint8_t, 4> fp{};
  if (!raw.ok() || raw->size() != 78) return fp;
  crypto::SecretKey sk;
  std::copy(raw->begin() + 46, raw->end(), sk.begin());
  auto pk = crypto::PubKeyFromSecret(sk);
  EXPECT_TRUE(pk.has_value());
  auto h = crypto::HashOf160(*pk);
  std::copy(h.begin(), h.begin() + 4, fp.begin());
  return fp;
}

const nlohmann::json& Step(const nlohmann::json& steps, std::size_t i, const char* role) {
  EXPECT_EQ(steps[i]["role"].get<std::string>(), role);
  return steps[i];
}

TEST(Bip174Workflow, RolesReproduceByteExact) {
  auto v = LoadVector("bip174-psbt.json");
  const auto& wf = v["workflow"];
  const auto& steps = wf["steps"];
  ASSERT_EQ(steps.size(), 8u);

  // Creator.
  Psbt psbt;
  {
    const auto& s = Step(steps, 0, "creator");
    SCOPED_TRACE("creator: " + s["source_text"].get<std::string>());
    Transaction tx;
    tx.version = 2;
    tx.locktime = 0;
    for (const auto& in : s["inputs"]) {
      TxIn txin;
      auto h = HashFromDisplayHex(in["txid"].get<std::string>());
      ASSERT_TRUE(h.ok());
      txin.prevout = {*h, in["index"].get<std::uint32_t>()};
      tx.vin.push_back(txin);
    }
    for (const auto& out : s["outputs"]) {
      std::string btc = out["amount_btc"].get<std::string>();  // "1.49990000"
      auto dot = btc.find('.');
      std::int64_t sats = std::stoll(btc.substr(0, dot)) * 100'000'000 + std::stoll(btc.substr(dot + 1));
      tx.vout.push_back({sats, FromHex(out["scriptPubKey"].get<std::string>()).value()});
    }
    auto created = CreatePsbt(tx);
    ASSERT_TRUE(created.ok());
    psbt = *created;
    EXPECT_EQ(HexOf(psbt), s["expected_psbt"]["hex"].get<std::string>());
    EXPECT_EQ(PsbtToBase64(psbt), s["expected_psbt"]["base64"].get<std::string>());
  }
  // Updater: UTXOs, scripts and key origins.
  {
    const auto& s = Step(steps, 1, "updater");
    SCOPED_TRACE("updater: " + s["source_text"].get<std::string>());
    PsbtUpdateData data;
    for (const auto& t : s["previous_transactions"]) {
      auto tx = ParseTransactionHex(t.get<std::string>());
      ASSERT_TRUE(tx.ok());
      data.previous_txs.push_back(*tx);
    }
    for (const char* k : {"redeem_scripts", "witness_scripts"})
      for (const auto& sc : s[k]) data.scripts.push_back(FromHex(sc.get<std::string>()).value());
    const auto fp = MasterFingerprint(wf["master_key"]["extended_private_key"].get<std::string>());
    for (const auto& pk : s["public_keys"])
      data.key_origins[FromHex(pk["pubkey"].get<std::string>()).value()] = {fp, ParsePath(pk["path"])};
    ASSERT_TRUE(UpdatePsbt(psbt, data).ok());
    EXPECT_EQ(HexOf(psbt), s["expected_psbt"]["hex"].get<std::string>());
  }
  // Updater: SIGHASH_ALL on every input.
  {
    const auto& s = Step(steps, 2, "updater");
    SCOPED_TRACE("updater 2: " + s["source_text"].get<std::string>());
    for (PsbtInput& in : psbt.inputs) in.SetSighashType(kSighashAll);
    EXPECT_EQ(HexOf(psbt), s["expected_psbt"]["hex"].get<std::string>());
  }
  // Signers 1 and 2, each from the updater's output (RFC-6979 ECDSA).
  std::vector<Psbt> signed_psbts;
  for (std::size_t k : {3u, 4u}) {
    const auto& s = Step(steps, k, "signer");
    SCOPED_TRACE("signer " + std::to_string(s["signer"].get<int>()) + ": " + s["source_text"].get<std::string>());
    Psbt p = psbt;
    std::size_t added = 0;
    for (const auto& key : s["private_keys"]) {
      auto wif = DecodeWif(key["wif"].get<std::string>());
      ASSERT_TRUE(wif.ok());
      EXPECT_FALSE(wif->mainnet);
      auto n = SignPsbtEcdsa(p, wif->key, wif->compressed);
      ASSERT_TRUE(n.ok()) << n.error().message;
      added += *n;
    }
    EXPECT_EQ(added, 2u);
    EXPECT_EQ(HexOf(p), s["expected_psbt"]["hex"].get<std::string>());
    signed_psbts.push_back(p);
  }
  // Combiner over the two signers' expected outputs (partial sigs in key-ID order).
  {
    const auto& s = Step(steps, 5, "combiner");
    SCOPED_TRACE("combiner: " + s["source_text"].get<std::string>());
    auto combined = CombinePsbts({MustParse(steps[3]["expected_psbt"]), MustParse(steps[4]["expected_psbt"])});
    ASSERT_TRUE(combined.ok());
    EXPECT_EQ(HexOf(*combined), s["expected_psbt"]["hex"].get<std::string>());
    // Combining our own signer outputs gives the same.
    auto ours = CombinePsbts(signed_psbts);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(HexOf(*ours), s["expected_psbt"]["hex"].get<std::string>());
    // And the expected combined PSBT round-trips byte for byte.
    EXPECT_EQ(HexOf(MustParse(s["expected_psbt"])), s["expected_psbt"]["hex"].get<std::string>());
  }
  // Input finalizer.
  Psbt finalized;
  {
    const auto& s = Step(steps, 6, "input_finalizer");
    SCOPED_TRACE("finalizer: " + s["source_text"].get<std::string>());
    finalized = MustParse(steps[5]["expected_psbt"]);
    auto st = FinalizePsbt(finalized);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(HexOf(finalized), s["expected_psbt"]["hex"].get<std::string>());
  }
  // Transaction extractor.
  {
    const auto& s = Step(steps, 7, "transaction_extractor");
    SCOPED_TRACE("extractor: " + s["source_text"].get<std::string>());
    auto tx = ExtractTransaction(MustParse(steps[6]["expected_psbt"]));
    ASSERT_TRUE(tx.ok());
    EXPECT_EQ(ToHex(SerializeTransaction(*tx)), s["expected_tx_hex"].get<std::string>());
    EXPECT_FALSE(ExtractTransaction(MustParse(steps[5]["expected_psbt"])).ok());
  }
}

TEST(Bip174Workflow, CombinerUnknownKeys) {
  auto v = LoadVector("bip174-psbt.json")["combiner_unknown_keys"];
  SCOPED_TRACE(v["source_text"].get<std::string>());
  ASSERT_EQ(v["input_psbts"].size(), 2u);
  auto combined = CombinePsbts({MustParse(v["input_psbts"][0]), MustParse(v["input_psbts"][1])});
  ASSERT_TRUE(combined.ok());
  EXPECT_EQ(HexOf(*combined), v["expected_psbt"]["hex"].get<std::string>());
  EXPECT_EQ(PsbtToBase64(*combined), v["expected_psbt"]["base64"].get<std::string>());
}

TEST(Bip174Workflow, CombinerRejectsDifferentTransactions) {
  auto v = LoadVector("bip174-psbt.json");
  Psbt a = MustParse(v["workflow"]["steps"][0]["expected_psbt"]);
  Psbt b = a;
  b.tx.locktime = 1;
  auto r = CombinePsbts({a, b});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "psbt_combine_tx_mismatch");
}

TEST(Bip174Vectors, FailsSignerChecks) {
  auto v = LoadVector("bip174-psbt.json")["fails_signer_checks"];
  const std::map<std::string, std::string> expected = {
      {"A Witness UTXO is provided for a non-witness input", "psbt_witness_utxo_for_non_witness_input"},
      {"redeemScript with non-witness UTXO does not match the scriptPubKey", "psbt_redeem_script_mismatch"},
      {"redeemScript with witness UTXO does not match the scriptPubKey", "psbt_redeem_script_mismatch"},
      {"witnessScript with witness UTXO does not match the redeemScript", "psbt_witness_script_mismatch"},
  };
  ASSERT_EQ(v.size(), expected.size());
  for (const auto& e : v) {
    const std::string desc = e["description"].get<std::string>();
    SCOPED_TRACE(desc);
    ASSERT_TRUE(expected.count(desc));
    Psbt p = MustParse(e);
    bool refused = false;
    for (std::size_t i = 0; i < p.inputs.size(); ++i) {
      auto r = CheckInputForEcdsaSigning(p, i);
      if (!r.ok() && r.error().code == expected.at(desc)) refused = true;
    }
    EXPECT_TRUE(refused);
    // The signer refuses the PSBT as a whole, whatever key it holds.
    crypto::SecretKey k{};
    k[31] = 1;
    auto s = SignPsbtEcdsa(p, k);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, expected.at(desc));
  }
}

TEST(Bip174Workflow, SignerRejectsNonWitnessUtxoTxidMismatch) {
  auto v = LoadVector("bip174-psbt.json");
  Psbt p = MustParse(v["workflow"]["steps"][2]["expected_psbt"]);
  p.tx.vin[0].prevout.txid[0] ^= 1;  // input 0 has a non-witness UTXO
  auto r = CheckInputForEcdsaSigning(p, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "psbt_non_witness_utxo_mismatch");
  auto s = SignPsbtEcdsa(p, DecodeWif("cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQr")->key);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "psbt_non_witness_utxo_mismatch");
  // The parser rejects such a PSBT too, as Bitcoin Core does.
  auto parsed = ParsePsbt(SerializePsbt(p));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "psbt_non_witness_utxo_mismatch");
}

TEST(Bip174Workflow, FeeAndWif) {
  auto v = LoadVector("bip174-psbt.json");
  Psbt p = MustParse(v["workflow"]["steps"][2]["expected_psbt"]);
  // Spent amounts come from the non-witness UTXO (input 0) and witness UTXO (input 1).
  auto fee = PsbtFee(p);
  ASSERT_TRUE(fee.has_value());
  std::int64_t in_sum = PsbtSpentOutput(p, 0)->value + PsbtSpentOutput(p, 1)->value;
  EXPECT_EQ(*fee, in_sum - 149'990'000 - 100'000'000);
  EXPECT_GT(*fee, 0);
  EXPECT_FALSE(DecodeWif("cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQs").ok());  // bad checksum
  EXPECT_FALSE(PsbtFee(MustParse(v["workflow"]["steps"][0]["expected_psbt"])).has_value());
}

// The bridge's 2-of-3 tapscript: sign with two keys, finalize, extract.
class BridgePsbt : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      sk_[i] = crypto::SecretKey{};
      sk_[i][31] = static_cast<std::uint8_t>(i + 1);
      sk_[i][0] = 0x42;
      xonly_[i] = *crypto::XOnlyFromSecret(sk_[i]);
    }
    auto pol = MakeBridgePolicy({xonly_[0], xonly_[1], xonly_[2]});
    ASSERT_TRUE(pol.ok());
    policy_ = *pol;
    Transaction tx;
    TxIn in;
    in.prevout.txid.fill(0xab);
    in.prevout.n = 1;
    tx.vin.push_back(in);
    tx.vout.push_back({90'000, P2wpkhScript(Bytes(20, 0x11))});
    auto p = CreatePsbt(tx);
    ASSERT_TRUE(p.ok());
    psbt_ = *p;
    psbt_.inputs[0].SetWitnessUtxo({100'000, policy_.script_pubkey});
    psbt_.inputs[0].SetTapLeafScript({policy_.control_block, policy_.leaf_script, kTapscriptLeafVersion});
    psbt_.inputs[0].SetTapInternalKey(policy_.internal_key);
    psbt_.inputs[0].SetTapMerkleRoot(policy_.merkle_root);
  }
  std::size_t SortedPos(int i) const {
    for (std::size_t j = 0; j < 3; ++j)
      if (policy_.keys[j] == xonly_[i]) return j;
    return 99;
  }
  std::array<crypto::SecretKey, 3> sk_;
  std::array<crypto::XOnlyPubKey, 3> xonly_;
  BridgePolicy policy_;
  Psbt psbt_;
};

TEST_F(BridgePsbt, SignFinalizeExtract) {
  std::array<std::uint8_t, 32> aux{};
  ASSERT_TRUE(SignPsbtTapscript(psbt_, 0, sk_[0], std::nullopt, aux).ok());
  // One signature is not enough.
  Psbt one = psbt_;
  auto st = FinalizePsbtInput(one, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "psbt_not_enough_signatures");
  ASSERT_TRUE(SignPsbtTapscript(psbt_, 0, sk_[2], policy_.leaf_hash, aux).ok());
  auto sigs = psbt_.inputs[0].TapScriptSigs();
  ASSERT_EQ(sigs.size(), 2u);
  // Survives serialization (PSBT_IN_TAP_SCRIPT_SIG keyed by (xonly, leaf hash)).
  auto reparsed = ParsePsbt(SerializePsbt(psbt_));
  ASSERT_TRUE(reparsed.ok());
  EXPECT_TRUE(*reparsed == psbt_);

  Psbt fin = *reparsed;
  ASSERT_TRUE(FinalizePsbt(fin).ok());
  auto w = fin.inputs[0].FinalScriptWitness();
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 5u);
  // [sig(K3) or "", sig(K2) or "", sig(K1) or "", leaf, control block], K sorted.
  for (int i = 0; i < 3; ++i) {
    const Bytes& item = (*w)[2 - SortedPos(i)];
    if (i == 1) {
      EXPECT_TRUE(item.empty());
    } else {
      EXPECT_EQ(item, sigs.at({xonly_[i], policy_.leaf_hash}));
    }
  }
  EXPECT_EQ((*w)[3], policy_.leaf_script);
  EXPECT_EQ((*w)[4], policy_.control_block);
  EXPECT_TRUE(fin.inputs[0].TapScriptSigs().empty());
  EXPECT_TRUE(fin.inputs[0].WitnessUtxo().has_value());

  // Signatures verify against the BIP-341 script-path sighash.
  auto h = TaprootSighash(psbt_.tx, {{100'000, policy_.script_pubkey}}, 0, kSighashDefault, std::nullopt,
                          TapscriptExt{policy_.leaf_hash, 0xffffffff});
  ASSERT_TRUE(h.ok());
  for (int i : {0, 2}) {
    crypto::SchnorrSig s;
    const Bytes& b = sigs.at({xonly_[i], policy_.leaf_hash});
    ASSERT_EQ(b.size(), 64u);
    std::copy(b.begin(), b.end(), s.begin());
    EXPECT_TRUE(crypto::SchnorrVerify(xonly_[i], *h, s));
  }
  auto tx = ExtractTransaction(fin);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(tx->vin[0].witness, *w);
  EXPECT_TRUE(tx->vin[0].script_sig.empty());
}

TEST_F(BridgePsbt, InvalidSignatureIsNotCounted) {
  std::array<std::uint8_t, 32> aux{};
  ASSERT_TRUE(SignPsbtTapscript(psbt_, 0, sk_[0], std::nullopt, aux).ok());
  ASSERT_TRUE(SignPsbtTapscript(psbt_, 0, sk_[1], std::nullopt, aux).ok());
  Bytes bad = psbt_.inputs[0].TapScriptSigs().at({xonly_[1], policy_.leaf_hash});
  bad[10] ^= 1;
  psbt_.inputs[0].SetTapScriptSig(xonly_[1], policy_.leaf_hash, bad);
  auto st = FinalizePsbtInput(psbt_, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "psbt_not_enough_signatures");
  // A third, valid signature completes it; the bad one is left out.
  ASSERT_TRUE(SignPsbtTapscript(psbt_, 0, sk_[2], std::nullopt, aux).ok());
  ASSERT_TRUE(FinalizePsbtInput(psbt_, 0).ok());
  auto w = psbt_.inputs[0].FinalScriptWitness();
  ASSERT_TRUE(w.has_value());
  EXPECT_TRUE((*w)[2 - SortedPos(1)].empty());
}

TEST_F(BridgePsbt, SignerRefusesForeignKeyAndUncommittedLeaf) {
  crypto::SecretKey other{};
  other[31] = 9;
  auto r = SignPsbtTapscript(psbt_, 0, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "psbt_no_matching_leaf");
  // Spent output is a different taproot key: the leaf is not committed.
  psbt_.inputs[0].SetWitnessUtxo({100'000, P2trScript(Bytes(xonly_[0].begin(), xonly_[0].end()))});
  r = SignPsbtTapscript(psbt_, 0, sk_[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "psbt_leaf_not_committed");
}

}  // namespace
}  // namespace kray::bitcoin
