// Typed accessors for PSBT records. ParsePsbt validated every known record,
// so decoding here cannot fail for parsed PSBTs; for hand-built maps an
// undecodable record is treated as absent.
#include <algorithm>

#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/serialize.h"
#include "psbt_internal.h"

namespace kray::bitcoin {
namespace {

using namespace psbt_internal;
namespace p = psbt;

const Bytes* Find(const PsbtMap& map, std::uint8_t type) {
  auto it = map.find(Bytes{type});
  return it == map.end() ? nullptr : &it->second;
}

std::optional<Bytes> FindBytes(const PsbtMap& map, std::uint8_t type) {
  const Bytes* v = Find(map, type);
  if (!v) return std::nullopt;
  return *v;
}

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> FindFixed(const PsbtMap& map, std::uint8_t type) {
  const Bytes* v = Find(map, type);
  if (!v || v->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out;
  std::copy(v->begin(), v->end(), out.begin());
  return out;
}

// Iterates the records of one type (keys sharing the first byte).
template <class F>
void ForType(const PsbtMap& map, std::uint8_t type, F&& f) {
  for (auto it = map.lower_bound(Bytes{type}); it != map.end() && it->first[0] == type; ++it) f(it->first, it->second);
}

std::map<Bytes, KeyOrigin> Derivations(const PsbtMap& map, std::uint8_t type) {
  std::map<Bytes, KeyOrigin> out;
  ForType(map, type, [&](const Bytes& key, const Bytes& value) {
    if (key.size() != 34 && key.size() != 66) return;
    if (auto o = DecodeKeyOrigin(value)) out.emplace(Bytes(key.begin() + 1, key.end()), std::move(*o));
  });
  return out;
}

std::map<crypto::XOnlyPubKey, TapKeyOrigin> TapDerivations(const PsbtMap& map, std::uint8_t type) {
  std::map<crypto::XOnlyPubKey, TapKeyOrigin> out;
  ForType(map, type, [&](const Bytes& key, const Bytes& value) {
    if (key.size() != 33) return;
    crypto::XOnlyPubKey x;
    std::copy(key.begin() + 1, key.end(), x.begin());
    if (auto o = DecodeTapKeyOrigin(value)) out.emplace(x, std::move(*o));
  });
  return out;
}

void Put(PsbtMap& map, std::uint8_t type, ByteSpan key_data, ByteSpan value) {
  map[MakeKey(type, key_data)] = Bytes(value.begin(), value.end());
}

}  // namespace

// ---- PsbtInput --------------------------------------------------------------

std::optional<Transaction> PsbtInput::NonWitnessUtxo() const {
  const Bytes* v = Find(map, p::kInNonWitnessUtxo);
  if (!v) return std::nullopt;
  auto tx = ParseTransaction(*v);
  if (!tx.ok()) return std::nullopt;
  return std::move(*tx);
}

std::optional<TxOut> PsbtInput::WitnessUtxo() const {
  const Bytes* v = Find(map, p::kInWitnessUtxo);
  return v ? DecodeTxOut(*v) : std::nullopt;
}

std::map<Bytes, Bytes> PsbtInput::PartialSigs() const {
  std::map<Bytes, Bytes> out;
  ForType(map, p::kInPartialSig,
          [&](const Bytes& key, const Bytes& value) { out.emplace(Bytes(key.begin() + 1, key.end()), value); });
  return out;
}

std::optional<std::uint32_t> PsbtInput::SighashType() const {
  const Bytes* v = Find(map, p::kInSighashType);
  if (!v || v->size() != 4) return std::nullopt;
  ByteReader r(*v);
  return r.ReadU32LE();
}

std::optional<Bytes> PsbtInput::RedeemScript() const {
  return FindBytes(map, p::kInRedeemScript);
}
std::optional<Bytes> PsbtInput::WitnessScript() const {
  return FindBytes(map, p::kInWitnessScript);
}
std::map<Bytes, KeyOrigin> PsbtInput::Bip32Derivations() const {
  return Derivations(map, p::kInBip32Derivation);
}
std::optional<Bytes> PsbtInput::FinalScriptSig() const {
  return FindBytes(map, p::kInFinalScriptSig);
}

std::optional<std::vector<Bytes>> PsbtInput::FinalScriptWitness() const {
  const Bytes* v = Find(map, p::kInFinalScriptWitness);
  return v ? DecodeWitnessStack(*v) : std::nullopt;
}

std::optional<Bytes> PsbtInput::TapKeySig() const {
  return FindBytes(map, p::kInTapKeySig);
}

std::map<TapScriptSigKey, Bytes> PsbtInput::TapScriptSigs() const {
  std::map<TapScriptSigKey, Bytes> out;
  ForType(map, p::kInTapScriptSig, [&](const Bytes& key, const Bytes& value) {
    if (key.size() != 65) return;
    TapScriptSigKey k;
    std::copy(key.begin() + 1, key.begin() + 33, k.first.begin());
    std::copy(key.begin() + 33, key.end(), k.second.begin());
    out.emplace(k, value);
  });
  return out;
}

std::vector<TapLeafScript> PsbtInput::TapLeafScripts() const {
  std::vector<TapLeafScript> out;
  ForType(map, p::kInTapLeafScript, [&](const Bytes& key, const Bytes& value) {
    if (value.empty()) return;
    out.push_back({Bytes(key.begin() + 1, key.end()), Bytes(value.begin(), value.end() - 1), value.back()});
  });
  return out;
}

std::map<crypto::XOnlyPubKey, TapKeyOrigin> PsbtInput::TapBip32Derivations() const {
  return TapDerivations(map, p::kInTapBip32Derivation);
}
std::optional<crypto::XOnlyPubKey> PsbtInput::TapInternalKey() const {
  return FindFixed<32>(map, p::kInTapInternalKey);
}
std::optional<Hash256> PsbtInput::TapMerkleRoot() const {
  return FindFixed<32>(map, p::kInTapMerkleRoot);
}

bool PsbtInput::IsFinalized() const {
  return Find(map, p::kInFinalScriptSig) != nullptr || Find(map, p::kInFinalScriptWitness) != nullptr;
}

void PsbtInput::SetNonWitnessUtxo(const Transaction& tx) {
  Put(map, p::kInNonWitnessUtxo, {}, SerializeTransaction(tx, true));
}
void PsbtInput::SetWitnessUtxo(const TxOut& out) {
  Put(map, p::kInWitnessUtxo, {}, EncodeTxOut(out));
}
void PsbtInput::SetPartialSig(ByteSpan pubkey, ByteSpan sig) {
  Put(map, p::kInPartialSig, pubkey, sig);
}
void PsbtInput::SetSighashType(std::uint32_t type) {
  ByteWriter w;
  w.WriteU32LE(type);
  Put(map, p::kInSighashType, {}, w.data());
}
void PsbtInput::SetRedeemScript(ByteSpan script) {
  Put(map, p::kInRedeemScript, {}, script);
}
void PsbtInput::SetWitnessScript(ByteSpan script) {
  Put(map, p::kInWitnessScript, {}, script);
}
void PsbtInput::SetBip32Derivation(ByteSpan pubkey, const KeyOrigin& origin) {
  Put(map, p::kInBip32Derivation, pubkey, EncodeKeyOrigin(origin));
}
void PsbtInput::SetFinalScriptSig(ByteSpan script) {
  Put(map, p::kInFinalScriptSig, {}, script);
}
void PsbtInput::SetFinalScriptWitness(const std::vector<Bytes>& stack) {
  Put(map, p::kInFinalScriptWitness, {}, EncodeWitnessStack(stack));
}
void PsbtInput::SetTapScriptSig(const crypto::XOnlyPubKey& key, const Hash256& leaf_hash, ByteSpan sig) {
  Bytes k(key.begin(), key.end());
  k.insert(k.end(), leaf_hash.begin(), leaf_hash.end());
  Put(map, p::kInTapScriptSig, k, sig);
}
void PsbtInput::SetTapLeafScript(const TapLeafScript& leaf) {
  Bytes v = leaf.script;
  v.push_back(leaf.leaf_version);
  Put(map, p::kInTapLeafScript, leaf.control_block, v);
}
void PsbtInput::SetTapBip32Derivation(const crypto::XOnlyPubKey& key, const TapKeyOrigin& origin) {
  Put(map, p::kInTapBip32Derivation, key, EncodeTapKeyOrigin(origin));
}
void PsbtInput::SetTapInternalKey(const crypto::XOnlyPubKey& key) {
  Put(map, p::kInTapInternalKey, {}, key);
}
void PsbtInput::SetTapMerkleRoot(const Hash256& root) {
  Put(map, p::kInTapMerkleRoot, {}, root);
}

// ---- PsbtOutput -------------------------------------------------------------

std::optional<Bytes> PsbtOutput::RedeemScript() const {
  return FindBytes(map, p::kOutRedeemScript);
}
std::optional<Bytes> PsbtOutput::WitnessScript() const {
  return FindBytes(map, p::kOutWitnessScript);
}
std::map<Bytes, KeyOrigin> PsbtOutput::Bip32Derivations() const {
  return Derivations(map, p::kOutBip32Derivation);
}
std::optional<crypto::XOnlyPubKey> PsbtOutput::TapInternalKey() const {
  return FindFixed<32>(map, p::kOutTapInternalKey);
}
std::optional<std::vector<TapTreeLeaf>> PsbtOutput::TapTree() const {
  const Bytes* v = Find(map, p::kOutTapTree);
  return v ? DecodeTapTree(*v) : std::nullopt;
}
std::map<crypto::XOnlyPubKey, TapKeyOrigin> PsbtOutput::TapBip32Derivations() const {
  return TapDerivations(map, p::kOutTapBip32Derivation);
}

void PsbtOutput::SetBip32Derivation(ByteSpan pubkey, const KeyOrigin& origin) {
  Put(map, p::kOutBip32Derivation, pubkey, EncodeKeyOrigin(origin));
}
void PsbtOutput::SetTapInternalKey(const crypto::XOnlyPubKey& key) {
  Put(map, p::kOutTapInternalKey, {}, key);
}
void PsbtOutput::SetTapTree(const std::vector<TapTreeLeaf>& leaves) {
  Put(map, p::kOutTapTree, {}, EncodeTapTree(leaves));
}
void PsbtOutput::SetTapBip32Derivation(const crypto::XOnlyPubKey& key, const TapKeyOrigin& origin) {
  Put(map, p::kOutTapBip32Derivation, key, EncodeTapKeyOrigin(origin));
}

}  // namespace kray::bitcoin
