// BIP-341 wallet test vectors, "keyPathSpending" group: precomputed hashes,
// SigMsg, sighash, tweaked keys and witnesses for every input, plus script
// path and error cases.
#include "kray/bitcoin/sighash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/bitcoin/transaction.h"
#include "kray/crypto/hash.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using nlohmann::json;

using ::kray::testing::LoadVector;

struct KeyPathCase {
  Transaction tx;
  std::vector<TxOut> spent;
  json vec;
};

KeyPathCase LoadKeyPath() {
  KeyPathCase c;
  c.vec = LoadVector("bip341-wallet-test-vectors.json").at("keyPathSpending").at(0);
  auto tx = ParseTransactionHex(c.vec["given"]["rawUnsignedTx"].get<std::string>());
  EXPECT_TRUE(tx.ok());
  if (tx.ok()) c.tx = *tx;
  for (const json& u : c.vec["given"]["utxosSpent"]) {
    c.spent.push_back(TxOut{u["amountSats"].get<std::int64_t>(), *FromHex(u["scriptPubKey"].get<std::string>())});
  }
  return c;
}

TEST(Bip341Vectors, KeyPathSpendingPrecomputed) {
  const KeyPathCase c = LoadKeyPath();
  SCOPED_TRACE("keyPathSpending[0] intermediary");
  ASSERT_EQ(c.spent.size(), c.tx.vin.size());
  const TaprootPrecomputed pre = PrecomputeTaproot(c.tx, c.spent);
  const json& mid = c.vec["intermediary"];
  EXPECT_EQ(ToHex(pre.amounts), mid["hashAmounts"].get<std::string>());
  EXPECT_EQ(ToHex(pre.outputs), mid["hashOutputs"].get<std::string>());
  EXPECT_EQ(ToHex(pre.prevouts), mid["hashPrevouts"].get<std::string>());
  EXPECT_EQ(ToHex(pre.script_pubkeys), mid["hashScriptPubkeys"].get<std::string>());
  EXPECT_EQ(ToHex(pre.sequences), mid["hashSequences"].get<std::string>());
}

TEST(Bip341Vectors, KeyPathSpendingInputs) {
  const KeyPathCase c = LoadKeyPath();
  auto signed_tx = ParseTransactionHex(c.vec["auxiliary"]["fullySignedTx"].get<std::string>());
  ASSERT_TRUE(signed_tx.ok());
  ASSERT_EQ(signed_tx->vin.size(), c.tx.vin.size());
  for (std::size_t i = 0; i < c.tx.vin.size(); ++i) EXPECT_EQ(signed_tx->vin[i].prevout, c.tx.vin[i].prevout);
  EXPECT_EQ(signed_tx->vout, c.tx.vout);
  const std::array<std::uint8_t, 32> zero_aux{};
  ASSERT_EQ(c.vec["inputSpending"].size(), 7u);
  for (const json& in : c.vec["inputSpending"]) {
    const json& given = in["given"];
    const std::size_t index = given["txinIndex"].get<std::size_t>();
    const auto hash_type = given["hashType"].get<std::uint8_t>();
    SCOPED_TRACE("inputSpending txinIndex=" + std::to_string(index) + " hashType=" + std::to_string(hash_type));
    const json& mid = in["intermediary"];
    auto seckey = FromHexFixed<32>(given["internalPrivkey"].get<std::string>());
    ASSERT_TRUE(seckey);
    std::optional<Hash256> merkle_root;
    if (!given["merkleRoot"].is_null()) merkle_root = FromHexFixed<32>(given["merkleRoot"].get<std::string>());

    auto pub = crypto::XOnlyFromSecret(*seckey);
    ASSERT_TRUE(pub);
    EXPECT_EQ(ToHex(*pub), mid["internalPubkey"].get<std::string>());
    const Hash256 tweak = TapTweakHash(*pub, merkle_root);
    EXPECT_EQ(ToHex(tweak), mid["tweak"].get<std::string>());
    auto tweaked = crypto::TweakSecretForTaproot(*seckey, tweak);
    ASSERT_TRUE(tweaked);
    EXPECT_EQ(ToHex(*tweaked), mid["tweakedPrivkey"].get<std::string>());

    auto msg = TaprootSigMsg(c.tx, c.spent, index, hash_type);
    ASSERT_TRUE(msg.ok()) << msg.error().message;
    EXPECT_EQ(ToHex(*msg), mid["sigMsg"].get<std::string>());
    auto sighash = TaprootSighash(c.tx, c.spent, index, hash_type);
    ASSERT_TRUE(sighash.ok());
    EXPECT_EQ(ToHex(*sighash), mid["sigHash"].get<std::string>());

    auto sig = SignTaprootKeyPath(*seckey, merkle_root, *sighash, hash_type, zero_aux);
    ASSERT_TRUE(sig);
    ASSERT_EQ(in["expected"]["witness"].size(), 1u);
    EXPECT_EQ(ToHex(*sig), in["expected"]["witness"][0].get<std::string>());
    // The signature verifies under the output key in the spent scriptPubKey.
    crypto::XOnlyPubKey q;
    std::copy(c.spent[index].script_pubkey.begin() + 2, c.spent[index].script_pubkey.end(), q.begin());
    crypto::SchnorrSig raw;
    std::copy(sig->begin(), sig->begin() + 64, raw.begin());
    EXPECT_TRUE(crypto::SchnorrVerify(q, *sighash, raw));
    // And it is the witness of the fully signed transaction.
    ASSERT_LT(index, signed_tx->vin.size());
    EXPECT_EQ(signed_tx->vin[index].witness, std::vector<Bytes>{*sig});
  }
}

// BIP-341 leaves precomputed data out of the message exactly as the
// vector's precomputedUsed lists: check the SigMsg length rule too.
TEST(Bip341Vectors, SigMsgLength) {
  const KeyPathCase c = LoadKeyPath();
  for (const json& in : c.vec["inputSpending"]) {
    const auto hash_type = in["given"]["hashType"].get<std::uint8_t>();
    auto msg = TaprootSigMsg(c.tx, c.spent, in["given"]["txinIndex"].get<std::size_t>(), hash_type);
    ASSERT_TRUE(msg.ok());
    // BIP-341: the epoch byte plus SigMsg is 175 - is_anyonecanpay*49 -
    // is_none*32 bytes for a key-path spend of P2TR outputs without annex
    // (SINGLE swaps sha_outputs for sha_single_output: same size).
    const bool acp = hash_type & 0x80;
    const bool none = (hash_type & 3) == 2;
    EXPECT_EQ(msg->size(), 175u - (acp ? 49 : 0) - (none ? 32 : 0));
  }
}

TEST(TaprootSighash, ScriptPathAndAnnex) {
  const KeyPathCase c = LoadKeyPath();
  TapscriptExt ext;
  ext.leaf_hash[0] = 0xaa;
  auto key_msg = TaprootSigMsg(c.tx, c.spent, 0, kSighashDefault);
  auto script_msg = TaprootSigMsg(c.tx, c.spent, 0, kSighashDefault, std::nullopt, ext);
  ASSERT_TRUE(key_msg.ok() && script_msg.ok());
  // Script path adds leaf hash, key_version, codesep_pos (37 bytes) and sets ext_flag=1.
  EXPECT_EQ(script_msg->size(), key_msg->size() + 37);
  const std::size_t spend_type_pos = 1 + 1 + 4 + 4 + 32 * 5;
  EXPECT_EQ((*key_msg)[spend_type_pos], 0x00);
  EXPECT_EQ((*script_msg)[spend_type_pos], 0x02);
  EXPECT_EQ(ToHex(ByteSpan(*script_msg).subspan(script_msg->size() - 37, 32)), ToHex(ext.leaf_hash));
  EXPECT_EQ(script_msg->back(), 0xff);  // codesep_pos 0xffffffff

  const Bytes annex{0x50, 0x01, 0x02};
  auto annex_msg = TaprootSigMsg(c.tx, c.spent, 0, kSighashDefault, annex, ext);
  ASSERT_TRUE(annex_msg.ok());
  EXPECT_EQ((*annex_msg)[spend_type_pos], 0x03);
  ASSERT_EQ(annex_msg->size(), script_msg->size() + 32);
  // sha_annex = SHA256(CompactSize(len) || annex) follows input_index.
  const Bytes ser{0x03, 0x50, 0x01, 0x02};
  EXPECT_EQ(ToHex(ByteSpan(*annex_msg).subspan(spend_type_pos + 5, 32)), ToHex(crypto::Sha256(ser)));

  // Script-path signing with the untweaked key verifies under the raw key.
  crypto::SecretKey sk{};
  sk[31] = 7;
  auto sighash = TaprootSighash(c.tx, c.spent, 0, kSighashAll, std::nullopt, ext);
  ASSERT_TRUE(sighash.ok());
  auto sig = SignTapscript(sk, *sighash, kSighashAll, {});
  ASSERT_TRUE(sig);
  ASSERT_EQ(sig->size(), 65u);
  EXPECT_EQ(sig->back(), kSighashAll);
  crypto::SchnorrSig raw;
  std::copy(sig->begin(), sig->begin() + 64, raw.begin());
  EXPECT_TRUE(crypto::SchnorrVerify(*crypto::XOnlyFromSecret(sk), *sighash, raw));
}

// BIP-341 has no script-path sighash vector, but BIP-371's valid PSBTs carry
// real BIP-340 signatures: key-path (PSBT_IN_TAP_KEY_SIG) and script-path
// (PSBT_IN_TAP_SCRIPT_SIG, keyed by x-only key and leaf hash). They must
// verify under our sighashes, which checks the script-path extension
// (ext_flag, tapleaf hash, key_version, codesep_pos) independently.
TEST(Bip371Vectors, SignaturesVerifyUnderOurSighash) {
  const json v = LoadVector("bip371-psbt.json");
  int key_sigs = 0, script_sigs = 0;
  for (const json& e : v.at("valid")) {
    SCOPED_TRACE(e["description"].get<std::string>());
    auto psbt = ParsePsbt(*FromHex(e["hex"].get<std::string>()));
    ASSERT_TRUE(psbt.ok()) << psbt.error().message;
    std::vector<TxOut> spent;
    for (const PsbtInput& in : psbt->inputs) {
      if (auto u = in.WitnessUtxo()) spent.push_back(*u);
    }
    if (spent.size() != psbt->inputs.size()) continue;  // sighash needs every spent output
    for (std::size_t i = 0; i < psbt->inputs.size(); ++i) {
      const PsbtInput& in = psbt->inputs[i];
      auto check = [&](const crypto::XOnlyPubKey& key, const Bytes& sig, const std::optional<TapscriptExt>& ext) {
        ASSERT_TRUE(sig.size() == 64 || sig.size() == 65);
        const std::uint8_t ht = sig.size() == 65 ? sig[64] : kSighashDefault;
        auto h = TaprootSighash(psbt->tx, spent, i, ht, std::nullopt, ext);
        ASSERT_TRUE(h.ok()) << h.error().message;
        crypto::SchnorrSig raw;
        std::copy(sig.begin(), sig.begin() + 64, raw.begin());
        EXPECT_TRUE(crypto::SchnorrVerify(key, *h, raw));
        // The same signature must not verify as the other spend type.
        auto other = TaprootSighash(psbt->tx, spent, i, ht, std::nullopt,
                                    ext ? std::nullopt : std::optional<TapscriptExt>(TapscriptExt{}));
        ASSERT_TRUE(other.ok());
        EXPECT_FALSE(crypto::SchnorrVerify(key, *other, raw));
      };
      if (auto ks = in.TapKeySig()) {
        crypto::XOnlyPubKey q;
        ASSERT_EQ(spent[i].script_pubkey.size(), 34u);
        std::copy(spent[i].script_pubkey.begin() + 2, spent[i].script_pubkey.end(), q.begin());
        check(q, *ks, std::nullopt);
        ++key_sigs;
      }
      for (const auto& [key_leaf, sig] : in.TapScriptSigs()) {
        check(key_leaf.first, sig, TapscriptExt{key_leaf.second, 0xffffffff});
        ++script_sigs;
      }
    }
  }
  EXPECT_GE(key_sigs, 1);
  EXPECT_GE(script_sigs, 3);
}

TEST(TaprootSighash, Errors) {
  const KeyPathCase c = LoadKeyPath();
  EXPECT_EQ(TaprootSigMsg(c.tx, c.spent, 0, 0x04).error().code, "sighash_bad_hash_type");
  EXPECT_EQ(TaprootSigMsg(c.tx, c.spent, 0, 0x80).error().code, "sighash_bad_hash_type");
  EXPECT_EQ(TaprootSigMsg(c.tx, c.spent, c.tx.vin.size(), 0).error().code, "sighash_input_out_of_range");
  std::vector<TxOut> fewer(c.spent.begin(), c.spent.end() - 1);
  EXPECT_EQ(TaprootSigMsg(c.tx, fewer, 0, 0).error().code, "sighash_spent_outputs_mismatch");
  ASSERT_GT(c.tx.vin.size(), c.tx.vout.size());
  EXPECT_EQ(TaprootSigMsg(c.tx, c.spent, c.tx.vout.size(), kSighashSingle).error().code, "sighash_single_no_output");
}

// BIP-143 "Native P2WPKH" example: second input, SIGHASH_ALL.
TEST(SegwitV0Sighash, Bip143NativeP2wpkh) {
  auto tx = ParseTransactionHex(
      "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d1"
      "82d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99"
      "f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000");
  ASSERT_TRUE(tx.ok());
  const Bytes script_code = *FromHex("76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac");
  auto h = SegwitV0Sighash(*tx, 1, script_code, 600000000, kSighashAll);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(ToHex(*h), "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670");
}

TEST(LegacySighash, SingleBugAndCodeSeparator) {
  Transaction tx;
  tx.vin.resize(2);
  tx.vout.resize(1);
  auto one = LegacySighash(tx, 1, Bytes{0x51}, kSighashSingle);
  ASSERT_TRUE(one.ok());
  Hash256 expected{};
  expected[0] = 1;
  EXPECT_EQ(*one, expected);
  // OP_CODESEPARATOR is removed from the script code before hashing.
  auto a = LegacySighash(tx, 0, Bytes{0x51, 0xab, 0x52}, kSighashAll);
  auto b = LegacySighash(tx, 0, Bytes{0x51, 0x52}, kSighashAll);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace kray::bitcoin
