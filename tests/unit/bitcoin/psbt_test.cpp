// PSBT parsing/serialization against the BIP-174 and BIP-371 vectors
// (tests/vectors/bip174-psbt.json, bip371-psbt.json; see vectors/README.md).
#include "kray/bitcoin/psbt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kray/bitcoin/taproot.h"
#include "test_vectors.h"

namespace kray::bitcoin {
namespace {

using ::kray::testing::LoadVector;

Bytes Hex(const std::string& s) {
  auto b = FromHex(s);
  EXPECT_TRUE(b.has_value()) << s;
  return b.value_or(Bytes{});
}

TEST(PsbtBase64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto enc = Base64Encode(AsBytes(s));
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << s;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), s);
  }
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_FALSE(Base64Decode("Zm8").ok());
  EXPECT_FALSE(Base64Decode("Zm9=").ok());  // non-zero padding bits
  EXPECT_FALSE(Base64Decode("Z=8=").ok());
  EXPECT_FALSE(Base64Decode("Zm 8").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());
}

// hex and base64 of every entry encode the same bytes.
TEST(Bip174Vectors, HexMatchesBase64) {
  auto v = LoadVector("bip174-psbt.json");
  int n = 0;
  for (const char* group : {"invalid", "valid", "fails_signer_checks"}) {
    for (const auto& e : v[group]) {
      SCOPED_TRACE(e["description"].get<std::string>());
      auto b = Base64Decode(e["base64"].get<std::string>());
      ASSERT_TRUE(b.ok());
      EXPECT_EQ(ToHex(*b), e["hex"].get<std::string>());
      ++n;
    }
  }
  EXPECT_EQ(n, 34);
}

void ExpectAllInvalid(const nlohmann::json& group, std::size_t expected_count) {
  EXPECT_EQ(group.size(), expected_count);
  for (const auto& e : group) {
    SCOPED_TRACE(e["description"].get<std::string>());
    auto r = ParsePsbt(Hex(e["hex"]));
    ASSERT_FALSE(r.ok()) << "parsed an invalid PSBT";
    EXPECT_FALSE(r.error().code.empty());
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_FALSE(ParsePsbtBase64(e["base64"].get<std::string>()).ok());
  }
}

void ExpectAllValidRoundTrip(const nlohmann::json& group, std::size_t expected_count) {
  EXPECT_EQ(group.size(), expected_count);
  for (const auto& e : group) {
    SCOPED_TRACE(e["description"].get<std::string>());
    Bytes raw = Hex(e["hex"]);
    auto r = ParsePsbt(raw);
    ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(ToHex(SerializePsbt(*r)), ToHex(raw));
    EXPECT_EQ(PsbtToBase64(*r), e["base64"].get<std::string>());
    auto again = ParsePsbtBase64(e["base64"].get<std::string>());
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(*again == *r);
  }
}

TEST(Bip174Vectors, Invalid) {
  ExpectAllInvalid(LoadVector("bip174-psbt.json")["invalid"], 20);
}
TEST(Bip174Vectors, Valid) {
  ExpectAllValidRoundTrip(LoadVector("bip174-psbt.json")["valid"], 10);
}
TEST(Bip174Vectors, FailsSignerChecksParse) {
  ExpectAllValidRoundTrip(LoadVector("bip174-psbt.json")["fails_signer_checks"], 4);
}
TEST(Bip371Vectors, Invalid) {
  ExpectAllInvalid(LoadVector("bip371-psbt.json")["invalid"], 11);
}
TEST(Bip371Vectors, Valid) {
  ExpectAllValidRoundTrip(LoadVector("bip371-psbt.json")["valid"], 6);
}

// Specific rejection reasons for a few BIP-174 invalid vectors.
TEST(Bip174Vectors, InvalidReasons) {
  auto v = LoadVector("bip174-psbt.json")["invalid"];
  std::map<std::string, std::string> expected = {
      {"Network transaction, not PSBT format", "psbt_bad_magic"},
      {"PSBT where one input has a filled scriptSig in the unsigned tx", "psbt_unsigned_tx_not_empty"},
      {"PSBT where inputs and outputs are provided but without an unsigned tx", "psbt_missing_unsigned_tx"},
      {"PSBT with duplicate keys in an input", "psbt_duplicate_key"},
      {"PSBT with invalid input witness utxo typed key", "psbt_bad_key_length"},
      {"PSBT with invalid pubkey length for input partial signature typed key", "psbt_bad_key_length"},
  };
  int checked = 0;
  for (const auto& e : v) {
    auto it = expected.find(e["description"].get<std::string>());
    if (it == expected.end()) continue;
    SCOPED_TRACE(it->first);
    auto r = ParsePsbt(Hex(e["hex"]));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, it->second) << r.error().message;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(expected.size()));
}

// BIP-371 valid vectors: the taproot fields decode as the BIP describes.
TEST(Bip371Vectors, TypedTaprootFields) {
  auto v = LoadVector("bip371-psbt.json")["valid"];
  ASSERT_EQ(v.size(), 6u);
  auto parse = [&](int i) {
    auto r = ParsePsbt(Hex(v[i]["hex"]));
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::move(*r) : Psbt{};
  };
  {
    SCOPED_TRACE(v[0]["description"].get<std::string>());
    Psbt p = parse(0);
    ASSERT_EQ(p.inputs.size(), 1u);
    auto ik = p.inputs[0].TapInternalKey();
    ASSERT_TRUE(ik.has_value());
    auto der = p.inputs[0].TapBip32Derivations();
    ASSERT_EQ(der.size(), 1u);
    EXPECT_EQ(der.begin()->first, *ik);
    EXPECT_TRUE(der.begin()->second.leaf_hashes.empty());
    EXPECT_FALSE(der.begin()->second.origin.path.empty());
    EXPECT_TRUE(p.inputs[0].WitnessUtxo().has_value());
  }
  {
    SCOPED_TRACE(v[1]["description"].get<std::string>());
    Psbt p = parse(1);
    auto sig = p.inputs[0].TapKeySig();
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(sig->size() == 64 || sig->size() == 65);
  }
  {
    SCOPED_TRACE(v[2]["description"].get<std::string>());
    Psbt p = parse(2);
    ASSERT_EQ(p.outputs.size(), 1u);
    auto ik = p.outputs[0].TapInternalKey();
    ASSERT_TRUE(ik.has_value());
    auto der = p.outputs[0].TapBip32Derivations();
    ASSERT_EQ(der.size(), 1u);
    EXPECT_EQ(der.begin()->first, *ik);
  }
  {
    SCOPED_TRACE(v[3]["description"].get<std::string>());
    Psbt p = parse(3);
    const PsbtInput& in = p.inputs[0];
    auto leaves = in.TapLeafScripts();
    ASSERT_FALSE(leaves.empty());
    ASSERT_TRUE(in.TapMerkleRoot().has_value());
    ASSERT_TRUE(in.TapInternalKey().has_value());
    for (const auto& l : leaves) {
      auto cb = ParseControlBlock(l.control_block);
      ASSERT_TRUE(cb.ok());
      EXPECT_EQ(cb->leaf_version, l.leaf_version);
      EXPECT_EQ(cb->internal_key, *in.TapInternalKey());
      // Each leaf's control block proves the input's merkle root.
      EXPECT_EQ(ComputeMerkleRootFromPath(TapLeafHash(l.leaf_version, l.script), cb->merkle_path), *in.TapMerkleRoot());
    }
    // Every script key's derivation lists leaf hashes of the given leaves.
    auto der = in.TapBip32Derivations();
    ASSERT_FALSE(der.empty());
    for (const auto& [key, origin] : der) {
      for (const Hash256& lh : origin.leaf_hashes) {
        bool found = false;
        for (const auto& l : leaves) found |= TapLeafHash(l.leaf_version, l.script) == lh;
        EXPECT_TRUE(found);
      }
    }
  }
  {
    SCOPED_TRACE(v[4]["description"].get<std::string>());
    Psbt p = parse(4);
    auto tree = p.outputs[0].TapTree();
    ASSERT_TRUE(tree.has_value());
    ASSERT_FALSE(tree->empty());
    EXPECT_FALSE(p.outputs[0].TapBip32Derivations().empty());
  }
  {
    SCOPED_TRACE(v[5]["description"].get<std::string>());
    Psbt p = parse(5);
    auto sigs = p.inputs[0].TapScriptSigs();
    ASSERT_FALSE(sigs.empty());
    auto leaves = p.inputs[0].TapLeafScripts();
    for (const auto& [k, sig] : sigs) {
      EXPECT_TRUE(sig.size() == 64 || sig.size() == 65);
      bool found = false;
      for (const auto& l : leaves) found |= TapLeafHash(l.leaf_version, l.script) == k.second;
      EXPECT_TRUE(found) << "script sig for an unknown leaf";
    }
  }
}

// Unknown records survive a parse/serialize round trip; the parser bounds work.
TEST(PsbtParse, RejectsMalformedEdgeCases) {
  EXPECT_EQ(ParsePsbt(Bytes{}).error().code, "psbt_bad_magic");
  EXPECT_EQ(ParsePsbt(Bytes{'p', 's', 'b', 't', 0xff}).error().code, "psbt_truncated");
  // Key length claims 2^32 bytes.
  Bytes huge = {'p', 's', 'b', 't', 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00};
  EXPECT_FALSE(ParsePsbt(huge).ok());
}

}  // namespace
}  // namespace kray::bitcoin
