// PSBT v0 parsing, validation and serialization (BIP-174, BIP-371).
#include "kray/bitcoin/psbt.h"

#include <algorithm>
#include <string>

#include "kray/bitcoin/serialize.h"
#include "kray/crypto/ecdsa.h"
#include "kray/crypto/hash.h"
#include "psbt_internal.h"

namespace kray::bitcoin {
namespace {

using namespace psbt_internal;
namespace p = psbt;

constexpr std::uint8_t kMagic[5] = {'p', 's', 'b', 't', 0xff};

// Reads one key-value map up to its 0x00 separator. Duplicate keys are an
// error (BIP-174: "Duplicate keys are not allowed").
Result<PsbtMap> ReadMap(ByteReader& r, const std::string& where) {
  PsbtMap map;
  for (;;) {
    auto key_len = r.ReadCompactSize(r.remaining());
    if (!key_len.ok()) return Invalid("psbt_truncated", where + ": truncated or oversized key length");
    if (*key_len == 0) return map;
    auto key = r.ReadBytes(static_cast<std::size_t>(*key_len));
    if (!key) return Invalid("psbt_truncated", where + ": truncated key");
    auto value_len = r.ReadCompactSize(r.remaining());
    if (!value_len.ok()) return Invalid("psbt_truncated", where + ": truncated or oversized value length");
    auto value = r.ReadBytes(static_cast<std::size_t>(*value_len));
    if (!value) return Invalid("psbt_truncated", where + ": truncated value");
    std::string key_hex = ToHex(*key);
    if (!map.emplace(std::move(*key), std::move(*value)).second)
      return Invalid("psbt_duplicate_key", where + ": duplicate key " + key_hex);
  }
}

Error BadKey(const std::string& where, const char* field) {
  return Invalid("psbt_bad_key_length", where + ": wrong key length for " + field);
}
Error BadValue(const std::string& where, const char* field) {
  return Invalid("psbt_bad_value", where + ": invalid value for " + field);
}

// A key that is type || pubkey (33 or 65 bytes), pubkey on the curve.
Status CheckPubKeyKey(const Bytes& key, const std::string& where, const char* field) {
  if (key.size() != 34 && key.size() != 66) return BadKey(where, field);
  if (!crypto::IsValidPubKey(ByteSpan(key).subspan(1)))
    return Invalid("psbt_invalid_pubkey", where + ": invalid pubkey in " + field);
  return Ok();
}

Status CheckGlobal(const Bytes& key, const Bytes& value, const std::string& where) {
  switch (key[0]) {
    case p::kGlobalXpub:
      // type || 78-byte serialized extended public key (BIP-32).
      if (key.size() != 79) return BadKey(where, "PSBT_GLOBAL_XPUB");
      if (!DecodeKeyOrigin(value)) return BadValue(where, "PSBT_GLOBAL_XPUB");
      return Ok();
    case p::kGlobalVersion: {
      if (key.size() != 1) return BadKey(where, "PSBT_GLOBAL_VERSION");
      if (value.size() != 4) return BadValue(where, "PSBT_GLOBAL_VERSION");
      ByteReader r(value);
      if (*r.ReadU32LE() != 0) return Invalid("psbt_unsupported_version", "only PSBT version 0 is supported");
      return Ok();
    }
    default:
      return Ok();  // unknown or proprietary: kept as is
  }
}

// Preimage records (BIP-174 PSBT_IN_RIPEMD160 ... PSBT_IN_HASH256): the
// key's hash must be the hash of the value, as Bitcoin Core checks.
Status CheckPreimage(const Bytes& key, const Bytes& value, const std::string& where) {
  const std::uint8_t t = key[0];
  const std::size_t hash_len = (t == p::kInRipemd160 || t == p::kInHash160) ? 20 : 32;
  if (key.size() != 1 + hash_len) return BadKey(where, "preimage");
  Bytes h;
  if (t == p::kInRipemd160) {
    auto x = crypto::Ripemd160(value);
    h.assign(x.begin(), x.end());
  }
  if (t == p::kInSha256) {
    auto x = crypto::Sha256(value);
    h.assign(x.begin(), x.end());
  }
  if (t == p::kInHash160) {
    auto x = crypto::HashOf160(value);
    h.assign(x.begin(), x.end());
  }
  if (t == p::kInHash256) {
    auto x = crypto::Sha256d(value);
    h.assign(x.begin(), x.end());
  }
  if (!std::equal(h.begin(), h.end(), key.begin() + 1)) return BadValue(where, "preimage (hash mismatch)");
  return Ok();
}

Status CheckInput(const Bytes& key, const Bytes& value, const std::string& where) {
  const bool k1 = key.size() == 1;
  switch (key[0]) {
    case p::kInNonWitnessUtxo:
      if (!k1) return BadKey(where, "PSBT_IN_NON_WITNESS_UTXO");
      if (!ParseTransaction(value).ok()) return BadValue(where, "PSBT_IN_NON_WITNESS_UTXO");
      return Ok();
    case p::kInWitnessUtxo:
      if (!k1) return BadKey(where, "PSBT_IN_WITNESS_UTXO");
      if (!DecodeTxOut(value)) return BadValue(where, "PSBT_IN_WITNESS_UTXO");
      return Ok();
    case p::kInPartialSig:
      return CheckPubKeyKey(key, where, "PSBT_IN_PARTIAL_SIG");
    case p::kInSighashType:
      if (!k1) return BadKey(where, "PSBT_IN_SIGHASH_TYPE");
      if (value.size() != 4) return BadValue(where, "PSBT_IN_SIGHASH_TYPE");
      return Ok();
    case p::kInRedeemScript:
      return k1 ? Ok() : BadKey(where, "PSBT_IN_REDEEM_SCRIPT");
    case p::kInWitnessScript:
      return k1 ? Ok() : BadKey(where, "PSBT_IN_WITNESS_SCRIPT");
    case p::kInBip32Derivation:
      KRAY_TRY(CheckPubKeyKey(key, where, "PSBT_IN_BIP32_DERIVATION"));
      return DecodeKeyOrigin(value) ? Ok() : BadValue(where, "PSBT_IN_BIP32_DERIVATION");
    case p::kInFinalScriptSig:
      return k1 ? Ok() : BadKey(where, "PSBT_IN_FINAL_SCRIPTSIG");
    case p::kInFinalScriptWitness:
      if (!k1) return BadKey(where, "PSBT_IN_FINAL_SCRIPTWITNESS");
      return DecodeWitnessStack(value) ? Ok() : BadValue(where, "PSBT_IN_FINAL_SCRIPTWITNESS");
    case p::kInRipemd160:
    case p::kInSha256:
    case p::kInHash160:
    case p::kInHash256:
      return CheckPreimage(key, value, where);
    case p::kInTapKeySig:
      if (!k1) return BadKey(where, "PSBT_IN_TAP_KEY_SIG");
      if (value.size() != 64 && value.size() != 65) return BadValue(where, "PSBT_IN_TAP_KEY_SIG (size)");
      return Ok();
    case p::kInTapScriptSig:
      if (key.size() != 65) return BadKey(where, "PSBT_IN_TAP_SCRIPT_SIG");
      if (value.size() != 64 && value.size() != 65) return BadValue(where, "PSBT_IN_TAP_SCRIPT_SIG (size)");
      return Ok();
    case p::kInTapLeafScript:
      if (!ValidControlBlockSize(key.size() - 1)) return BadKey(where, "PSBT_IN_TAP_LEAF_SCRIPT (control block size)");
      if (value.empty()) return BadValue(where, "PSBT_IN_TAP_LEAF_SCRIPT (missing leaf version)");
      return Ok();
    case p::kInTapBip32Derivation:
      if (key.size() != 33) return BadKey(where, "PSBT_IN_TAP_BIP32_DERIVATION");
      return DecodeTapKeyOrigin(value) ? Ok() : BadValue(where, "PSBT_IN_TAP_BIP32_DERIVATION");
    case p::kInTapInternalKey:
      if (!k1) return BadKey(where, "PSBT_IN_TAP_INTERNAL_KEY");
      return value.size() == 32 ? Ok() : BadValue(where, "PSBT_IN_TAP_INTERNAL_KEY (size)");
    case p::kInTapMerkleRoot:
      if (!k1) return BadKey(where, "PSBT_IN_TAP_MERKLE_ROOT");
      return value.size() == 32 ? Ok() : BadValue(where, "PSBT_IN_TAP_MERKLE_ROOT (size)");
    default:
      return Ok();
  }
}

Status CheckOutput(const Bytes& key, const Bytes& value, const std::string& where) {
  const bool k1 = key.size() == 1;
  switch (key[0]) {
    case p::kOutRedeemScript:
      return k1 ? Ok() : BadKey(where, "PSBT_OUT_REDEEM_SCRIPT");
    case p::kOutWitnessScript:
      return k1 ? Ok() : BadKey(where, "PSBT_OUT_WITNESS_SCRIPT");
    case p::kOutBip32Derivation:
      KRAY_TRY(CheckPubKeyKey(key, where, "PSBT_OUT_BIP32_DERIVATION"));
      return DecodeKeyOrigin(value) ? Ok() : BadValue(where, "PSBT_OUT_BIP32_DERIVATION");
    case p::kOutTapInternalKey:
      if (!k1) return BadKey(where, "PSBT_OUT_TAP_INTERNAL_KEY");
      return value.size() == 32 ? Ok() : BadValue(where, "PSBT_OUT_TAP_INTERNAL_KEY (size)");
    case p::kOutTapTree:
      if (!k1) return BadKey(where, "PSBT_OUT_TAP_TREE");
      return DecodeTapTree(value) ? Ok() : BadValue(where, "PSBT_OUT_TAP_TREE");
    case p::kOutTapBip32Derivation:
      if (key.size() != 33) return BadKey(where, "PSBT_OUT_TAP_BIP32_DERIVATION");
      return DecodeTapKeyOrigin(value) ? Ok() : BadValue(where, "PSBT_OUT_TAP_BIP32_DERIVATION");
    default:
      return Ok();
  }
}

void WriteRecord(ByteWriter& w, ByteSpan key, ByteSpan value) {
  w.WriteVarBytes(key).WriteVarBytes(value);
}

// Writes a map in key order, except that the partial signatures are written
// as one group ordered by HASH160(pubkey) (Bitcoin Core's std::map<CKeyID,..>).
void WriteMap(ByteWriter& w, const PsbtMap& map, bool is_input) {
  bool sigs_written = false;
  for (const auto& [key, value] : map) {
    if (is_input && key[0] == p::kInPartialSig) {
      if (sigs_written) continue;
      sigs_written = true;
      std::vector<std::pair<crypto::Hash160, const std::pair<const Bytes, Bytes>*>> sigs;
      for (const auto& rec : map)
        if (rec.first[0] == p::kInPartialSig)
          sigs.emplace_back(crypto::HashOf160(ByteSpan(rec.first).subspan(1)), &rec);
      std::stable_sort(sigs.begin(), sigs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& s : sigs) WriteRecord(w, s.second->first, s.second->second);
      continue;
    }
    WriteRecord(w, key, value);
  }
  w.WriteU8(0x00);
}

}  // namespace

Result<Psbt> ParsePsbt(ByteSpan data) {
  if (data.size() > kMaxPsbtSize) return Invalid("psbt_too_large", "PSBT exceeds 16 MiB");
  if (data.size() < 5 || !std::equal(data.begin(), data.begin() + 5, kMagic))
    return Invalid("psbt_bad_magic", "missing PSBT magic bytes 70736274ff");
  ByteReader r(data.subspan(5));
  Psbt psbt;

  auto global = ReadMap(r, "global map");
  if (!global.ok()) return std::move(global).error();
  auto tx_it = global->find(Bytes{p::kGlobalUnsignedTx});
  for (const auto& [key, value] : *global) {
    if (key[0] == p::kGlobalUnsignedTx && key.size() != 1) return BadKey("global map", "PSBT_GLOBAL_UNSIGNED_TX");
    KRAY_TRY(CheckGlobal(key, value, "global map"));
  }
  if (tx_it == global->end()) return Invalid("psbt_missing_unsigned_tx", "global map has no PSBT_GLOBAL_UNSIGNED_TX");
  // The unsigned tx is always in the legacy (non-witness) format (BIP-174).
  auto tx = ParseTransaction(tx_it->second, /*allow_witness=*/false);
  if (!tx.ok()) return Invalid("psbt_bad_value", "global map: invalid PSBT_GLOBAL_UNSIGNED_TX: " + tx.error().message);
  for (const TxIn& in : tx->vin) {
    if (!in.script_sig.empty() || !in.witness.empty())
      return Invalid("psbt_unsigned_tx_not_empty", "unsigned tx has an input with a scriptSig or witness");
  }
  psbt.tx = std::move(*tx);
  global->erase(tx_it);
  psbt.global = std::move(*global);

  for (std::size_t i = 0; i < psbt.tx.vin.size(); ++i) {
    const std::string where = "input " + std::to_string(i);
    if (r.empty()) return Invalid("psbt_input_count_mismatch", "fewer input maps than unsigned tx inputs");
    auto map = ReadMap(r, where);
    if (!map.ok()) return std::move(map).error();
    for (const auto& [key, value] : *map) KRAY_TRY(CheckInput(key, value, where));
    PsbtInput input{std::move(*map)};
    // As Bitcoin Core's deserializer: a non-witness UTXO must be the spent
    // transaction and have the spent output.
    if (auto prev = input.NonWitnessUtxo()) {
      const OutPoint& prevout = psbt.tx.vin[i].prevout;
      if (Txid(*prev) != prevout.txid || prevout.n >= prev->vout.size())
        return Invalid("psbt_non_witness_utxo_mismatch", where + ": non-witness UTXO does not match the outpoint");
    }
    psbt.inputs.push_back(std::move(input));
  }
  for (std::size_t i = 0; i < psbt.tx.vout.size(); ++i) {
    const std::string where = "output " + std::to_string(i);
    if (r.empty()) return Invalid("psbt_output_count_mismatch", "fewer output maps than unsigned tx outputs");
    auto map = ReadMap(r, where);
    if (!map.ok()) return std::move(map).error();
    for (const auto& [key, value] : *map) KRAY_TRY(CheckOutput(key, value, where));
    psbt.outputs.push_back(PsbtOutput{std::move(*map)});
  }
  if (!r.empty()) return Invalid("psbt_trailing_data", "data after the last output map");
  return psbt;
}

Bytes SerializePsbt(const Psbt& psbt) {
  ByteWriter w(1024);
  w.WriteBytes(kMagic);
  WriteRecord(w, Bytes{p::kGlobalUnsignedTx}, SerializeTransaction(psbt.tx, /*with_witness=*/false));
  for (const auto& [key, value] : psbt.global) {
    if (key.size() == 1 && key[0] == p::kGlobalUnsignedTx) continue;  // written above
    WriteRecord(w, key, value);
  }
  w.WriteU8(0x00);
  for (const PsbtInput& in : psbt.inputs) WriteMap(w, in.map, /*is_input=*/true);
  for (const PsbtOutput& out : psbt.outputs) WriteMap(w, out.map, /*is_input=*/false);
  return w.Take();
}

Result<Psbt> ParsePsbtBase64(std::string_view text) {
  if (text.size() > kMaxPsbtSize / 3 * 4 + 4) return Invalid("psbt_too_large", "PSBT exceeds 16 MiB");
  auto bytes = Base64Decode(text);
  if (!bytes.ok()) return std::move(bytes).error();
  return ParsePsbt(*bytes);
}

std::string PsbtToBase64(const Psbt& psbt) {
  return Base64Encode(SerializePsbt(psbt));
}

bool operator==(const PsbtInput& a, const PsbtInput& b) {
  return a.map == b.map;
}
bool operator==(const PsbtOutput& a, const PsbtOutput& b) {
  return a.map == b.map;
}
bool operator==(const Psbt& a, const Psbt& b) {
  return a.tx == b.tx && a.global == b.global && a.inputs == b.inputs && a.outputs == b.outputs;
}

}  // namespace kray::bitcoin
