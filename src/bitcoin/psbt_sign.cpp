// PSBT Signer and Finalizer roles (BIP-174), for ECDSA inputs (P2PKH, P2WPKH,
// bare/P2SH/P2WSH/P2SH-P2WSH multisig; legacy and BIP-143 sighashes) and for
// taproot script-path multi_a leaves (BIP-341/342/387), incl. the bridge's
// 2-of-3 sortedmulti_a leaf.
#include <algorithm>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/multisig.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/taproot.h"
#include "kray/crypto/ecdsa.h"
#include "kray/crypto/hash.h"
#include "psbt_internal.h"

namespace kray::bitcoin {
namespace {

using namespace psbt_internal;
namespace p = psbt;

std::string InputName(std::size_t i) {
  return "input " + std::to_string(i);
}

template <class A, class B>
bool SameBytes(const A& a, const B& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Removes everything but the UTXOs and unknown/proprietary records
// (BIP-174 Input Finalizer).
void ClearForFinal(PsbtInput& in) {
  for (auto it = in.map.begin(); it != in.map.end();) {
    const std::uint8_t t = it->first[0];
    const bool known = (t >= p::kInPartialSig && t <= p::kInFinalScriptWitness) ||
                       (t >= p::kInRipemd160 && t <= p::kInHash256) ||
                       (t >= p::kInTapKeySig && t <= p::kInTapMerkleRoot);
    it = known ? in.map.erase(it) : std::next(it);
  }
}

Result<std::vector<TxOut>> AllSpentOutputs(const Psbt& psbt) {
  std::vector<TxOut> out;
  for (std::size_t i = 0; i < psbt.tx.vin.size(); ++i) {
    auto utxo = PsbtSpentOutput(psbt, i);
    if (!utxo) return Invalid("psbt_missing_utxo", InputName(i) + ": spent output unknown (BIP-341 needs all)");
    out.push_back(std::move(*utxo));
  }
  return out;
}

// A parsed BIP-387 multi_a leaf: <k1> CHECKSIG <k2> CHECKSIGADD ... <m> NUMEQUAL.
struct MultiA {
  std::vector<crypto::XOnlyPubKey> keys;
  std::size_t threshold = 0;
};

std::optional<MultiA> ParseMultiA(ByteSpan script) {
  auto ops = ParseScript(script);
  if (!ops.ok()) return std::nullopt;
  MultiA m;
  // <k> OP_CHECKSIG (BIP-386 pk() leaf) behaves as a 1-of-1 with the same
  // witness shape: [sig, leaf script, control block].
  if (ops->size() == 2 && (*ops)[0].IsPush() && (*ops)[0].data.size() == 32 && (*ops)[1].opcode == OP_CHECKSIG) {
    crypto::XOnlyPubKey k;
    std::copy((*ops)[0].data.begin(), (*ops)[0].data.end(), k.begin());
    m.keys.push_back(k);
    m.threshold = 1;
    return m;
  }
  if (ops->size() < 4 || ops->size() % 2 != 0) return std::nullopt;
  const std::size_t n = ops->size() / 2 - 1;
  for (std::size_t j = 0; j < n; ++j) {
    const ScriptOp& push = (*ops)[2 * j];
    const std::uint8_t want = j == 0 ? OP_CHECKSIG : OP_CHECKSIGADD;
    if (!push.IsPush() || push.data.size() != 32 || (*ops)[2 * j + 1].opcode != want) return std::nullopt;
    crypto::XOnlyPubKey k;
    std::copy(push.data.begin(), push.data.end(), k.begin());
    m.keys.push_back(k);
  }
  const ScriptOp& t = (*ops)[2 * n];
  if ((*ops)[2 * n + 1].opcode != OP_NUMEQUAL) return std::nullopt;
  if (auto small = DecodeOpN(t.opcode)) {
    m.threshold = static_cast<std::size_t>(*small);
  } else if (t.IsPush() && !t.data.empty() && t.data.size() <= 2 && (t.data.back() & 0x80) == 0) {
    m.threshold = t.data[0] | (t.data.size() == 2 ? static_cast<std::size_t>(t.data[1]) << 8 : 0);
  } else {
    return std::nullopt;
  }
  if (m.threshold == 0 || m.threshold > n) return std::nullopt;
  return m;
}

// BIP-342 signature check for one tapscript signature.
bool VerifyTapscriptSig(const Psbt& psbt, const std::vector<TxOut>& spent, std::size_t index,
                        const crypto::XOnlyPubKey& key, const Hash256& leaf_hash, const Bytes& sig) {
  if (sig.size() != 64 && sig.size() != 65) return false;
  const std::uint8_t hash_type = sig.size() == 65 ? sig[64] : kSighashDefault;
  if (sig.size() == 65 && hash_type == kSighashDefault) return false;  // BIP-341: 0x00 must be implicit
  auto sighash = TaprootSighash(psbt.tx, spent, index, hash_type, std::nullopt, TapscriptExt{leaf_hash, 0xffffffff});
  if (!sighash.ok()) return false;
  crypto::SchnorrSig s;
  std::copy(sig.begin(), sig.begin() + 64, s.begin());
  return crypto::SchnorrVerify(key, *sighash, s);
}

Status FinalizeTapscript(Psbt& psbt, std::size_t index) {
  PsbtInput& in = psbt.inputs[index];
  auto spent = AllSpentOutputs(psbt);
  if (!spent.ok()) return std::move(spent).error();
  const Bytes& spk = (*spent)[index].script_pubkey;
  Destination dest = ClassifyScript(spk);
  if (dest.type != ScriptType::kP2TR) return Invalid("psbt_unsupported_script", InputName(index) + ": not P2TR");
  crypto::XOnlyPubKey output_key;
  std::copy(dest.program.begin(), dest.program.end(), output_key.begin());
  const auto sigs = in.TapScriptSigs();
  std::string why = "no multi_a leaf";
  for (const TapLeafScript& leaf : in.TapLeafScripts()) {
    if (leaf.leaf_version != kTapscriptLeafVersion) continue;
    auto multi = ParseMultiA(leaf.script);
    if (!multi || !VerifyTaprootCommitment(output_key, leaf.control_block, leaf.script)) continue;
    const Hash256 leaf_hash = TapLeafHash(leaf.leaf_version, leaf.script);
    // Valid signatures only: an invalid one (e.g. from a faulty cosigner)
    // must not block finalization when enough valid ones exist.
    std::vector<std::pair<crypto::XOnlyPubKey, Bytes>> valid;
    std::size_t invalid = 0;
    for (const auto& key : multi->keys) {
      auto it = sigs.find({key, leaf_hash});
      if (it == sigs.end()) continue;
      if (VerifyTapscriptSig(psbt, *spent, index, key, leaf_hash, it->second))
        valid.emplace_back(key, it->second);
      else
        ++invalid;
    }
    if (valid.size() < multi->threshold) {
      why = std::to_string(valid.size()) + " valid of " + std::to_string(multi->threshold) + " signatures (" +
            std::to_string(invalid) + " invalid)";
      continue;
    }
    std::vector<Bytes> witness;
    // The bridge policy: use its own witness builder (multisig.h).
    auto policy = multi->keys.size() == 3 && multi->threshold == 2
                      ? MakeBridgePolicy({multi->keys[0], multi->keys[1], multi->keys[2]})
                      : Result<BridgePolicy>(Error::Invalid("not_bridge", ""));
    if (policy.ok() && policy->leaf_script == leaf.script && policy->control_block == leaf.control_block) {
      auto w = BuildBridgeWitness(*policy, valid);
      if (!w.ok()) return Invalid("psbt_not_enough_signatures", InputName(index) + ": " + w.error().message);
      witness = std::move(*w);
    } else {
      // Generic multi_a: the leaf checks k1 first, so its signature is on top
      // of the stack (last witness item before script and control block).
      // Exactly `threshold` signatures, for the lowest-positioned keys.
      std::vector<Bytes> per_key(multi->keys.size());
      std::size_t used = 0;
      for (std::size_t j = 0; j < multi->keys.size() && used < multi->threshold; ++j) {
        for (const auto& [k, s] : valid) {
          if (k == multi->keys[j]) {
            per_key[j] = s;
            ++used;
            break;
          }
        }
      }
      for (std::size_t j = multi->keys.size(); j-- > 0;) witness.push_back(per_key[j]);
      witness.push_back(leaf.script);
      witness.push_back(leaf.control_block);
    }
    ClearForFinal(in);
    in.SetFinalScriptWitness(witness);
    return Ok();
  }
  return Invalid("psbt_not_enough_signatures", InputName(index) + ": cannot finalize tapscript: " + why);
}

// The ECDSA template a script follows, for the finalizer.
Result<std::vector<Bytes>> EcdsaStack(const Psbt& psbt, std::size_t index, const EcdsaSigningInfo& info) {
  const PsbtInput& in = psbt.inputs[index];
  const auto sigs = in.PartialSigs();
  auto sig_ok = [&](const Bytes& pubkey, const Bytes& sig) {
    if (sig.size() < 2) return false;
    const std::uint32_t ht = sig.back();
    Result<Hash256> h = info.segwit_v0 ? SegwitV0Sighash(psbt.tx, index, info.script_code, info.amount, ht)
                                       : LegacySighash(psbt.tx, index, info.script_code, ht);
    return h.ok() && crypto::EcdsaVerifyDer(pubkey, *h, ByteSpan(sig).first(sig.size() - 1));
  };
  Destination d = ClassifyScript(info.script_code);
  if (d.type == ScriptType::kP2PKH) {  // also P2WPKH, whose scriptCode is P2PKH
    for (const auto& [pk, sig] : sigs) {
      auto h = crypto::HashOf160(pk);
      if (SameBytes(h, d.program) && sig_ok(pk, sig)) return std::vector<Bytes>{sig, pk};
    }
    return Invalid("psbt_not_enough_signatures", InputName(index) + ": no valid signature for the P2PKH key");
  }
  auto ops = ParseScript(info.script_code);
  if (!ops.ok()) return Invalid("psbt_unsupported_script", InputName(index) + ": malformed script");
  const auto& o = *ops;
  if (o.size() == 2 && o[0].IsPush() && o[1].opcode == OP_CHECKSIG) {  // P2PK
    Bytes pk(o[0].data.begin(), o[0].data.end());
    auto it = sigs.find(pk);
    if (it != sigs.end() && sig_ok(pk, it->second)) return std::vector<Bytes>{it->second};
    return Invalid("psbt_not_enough_signatures", InputName(index) + ": no valid signature for the P2PK key");
  }
  // OP_m <pubkey>... OP_n OP_CHECKMULTISIG; signatures in pubkey order.
  if (o.size() >= 4 && o.back().opcode == OP_CHECKMULTISIG) {
    auto m = DecodeOpN(o[0].opcode);
    auto n = DecodeOpN(o[o.size() - 2].opcode);
    if (m && n && *m >= 1 && *n >= *m && static_cast<std::size_t>(*n) == o.size() - 3) {
      std::vector<Bytes> stack{Bytes{}};  // CHECKMULTISIG's extra pop (BIP-147 NULLDUMMY)
      for (std::size_t j = 1; j + 2 < o.size() && stack.size() <= static_cast<std::size_t>(*m); ++j) {
        Bytes pk(o[j].data.begin(), o[j].data.end());
        auto it = sigs.find(pk);
        if (it != sigs.end() && sig_ok(pk, it->second)) stack.push_back(it->second);
      }
      if (stack.size() != static_cast<std::size_t>(*m) + 1)
        return Invalid("psbt_not_enough_signatures", InputName(index) + ": " + std::to_string(stack.size() - 1) +
                                                         " valid of " + std::to_string(*m) + " signatures");
      return stack;
    }
  }
  return Invalid("psbt_unsupported_script", InputName(index) + ": no finalizer for this script");
}

Bytes PushAll(const std::vector<Bytes>& items) {
  ScriptBuilder b;
  for (const Bytes& item : items) b.Push(item);
  return b.Take();
}

}  // namespace

Result<EcdsaSigningInfo> CheckInputForEcdsaSigning(const Psbt& psbt, std::size_t i) {
  if (i >= psbt.inputs.size() || i >= psbt.tx.vin.size())
    return Invalid("psbt_input_out_of_range", "no input " + std::to_string(i));
  const PsbtInput& in = psbt.inputs[i];
  if (in.IsFinalized()) return Invalid("psbt_input_finalized", InputName(i) + ": already finalized");
  EcdsaSigningInfo info;
  info.sighash_type = in.SighashType().value_or(kSighashAll);
  TxOut utxo;
  bool witness_only = false;
  const OutPoint& prevout = psbt.tx.vin[i].prevout;
  if (auto prev = in.NonWitnessUtxo()) {
    // BIP-174 signer check: the non-witness UTXO must be the spent transaction.
    if (Txid(*prev) != prevout.txid || prevout.n >= prev->vout.size())
      return Invalid("psbt_non_witness_utxo_mismatch", InputName(i) + ": non-witness UTXO txid does not match");
    utxo = prev->vout[prevout.n];
  } else if (auto w = in.WitnessUtxo()) {
    utxo = *w;
    witness_only = true;
  } else {
    return Invalid("psbt_missing_utxo", InputName(i) + ": no UTXO");
  }
  info.amount = utxo.value;
  Bytes script = utxo.script_pubkey;
  Destination d = ClassifyScript(script);
  if (d.type == ScriptType::kP2SH) {
    auto rs = in.RedeemScript();
    if (!rs) return Invalid("psbt_redeem_script_missing", InputName(i) + ": P2SH without redeem script");
    if (!SameBytes(crypto::HashOf160(*rs), d.program))
      return Invalid("psbt_redeem_script_mismatch", InputName(i) + ": redeem script does not match the scriptPubKey");
    info.p2sh = true;
    script = *rs;
    d = ClassifyScript(script);
  }
  if (d.type == ScriptType::kP2WPKH) {
    info.segwit_v0 = info.p2wpkh = true;
    info.script_code = P2pkhScript(d.program);
  } else if (d.type == ScriptType::kP2WSH) {
    auto ws = in.WitnessScript();
    if (!ws) return Invalid("psbt_witness_script_missing", InputName(i) + ": P2WSH without witness script");
    if (!SameBytes(crypto::Sha256(*ws), d.program))
      return Invalid("psbt_witness_script_mismatch", InputName(i) + ": witness script does not match");
    info.segwit_v0 = info.p2wsh = true;
    info.script_code = *ws;
  } else if (d.witness_version >= 1) {
    return Invalid("psbt_unsupported_script", InputName(i) + ": not an ECDSA input (witness v1+)");
  } else {
    // BIP-174: a witness UTXO alone cannot be used to sign a non-witness
    // input (its amount is not committed to by a legacy signature).
    if (witness_only)
      return Invalid("psbt_witness_utxo_for_non_witness_input", InputName(i) + ": witness UTXO for non-witness input");
    info.script_code = script;
  }
  return info;
}

Result<std::size_t> SignPsbtEcdsa(Psbt& psbt, const crypto::SecretKey& seckey, bool compressed) {
  Bytes pubkey;
  if (compressed) {
    auto pk = crypto::PubKeyFromSecret(seckey);
    if (!pk) return Invalid("psbt_bad_key", "invalid secret key");
    pubkey.assign(pk->begin(), pk->end());
  } else {
    auto pk = crypto::UncompressedPubKeyFromSecret(seckey);
    if (!pk) return Invalid("psbt_bad_key", "invalid secret key");
    pubkey.assign(pk->begin(), pk->end());
  }
  const auto key_hash = crypto::HashOf160(pubkey);
  std::size_t added = 0;
  for (std::size_t i = 0; i < psbt.inputs.size(); ++i) {
    auto info = CheckInputForEcdsaSigning(psbt, i);
    if (!info.ok()) {
      const std::string& c = info.error().code;
      if (c == "psbt_input_finalized" || c == "psbt_missing_utxo" || c == "psbt_unsupported_script") continue;
      return std::move(info).error();  // a signer refuses an inconsistent PSBT
    }
    Destination d = ClassifyScript(info->script_code);
    bool ours = false;
    if (d.type == ScriptType::kP2PKH) {
      ours = SameBytes(key_hash, d.program);
    } else {
      ScriptIterator it(info->script_code);
      ScriptOp op;
      while (it.Next(op)) ours |= op.IsPush() && SameBytes(op.data, pubkey);
    }
    if (!ours) continue;
    if (info->p2wpkh && !compressed) continue;  // BIP-143: P2WPKH needs a compressed key
    const std::uint32_t ht = info->sighash_type;
    Result<Hash256> h = info->segwit_v0 ? SegwitV0Sighash(psbt.tx, i, info->script_code, info->amount, ht)
                                        : LegacySighash(psbt.tx, i, info->script_code, ht);
    if (!h.ok()) return std::move(h).error();
    auto der = crypto::EcdsaSignDer(seckey, *h);
    if (!der) return Invalid("psbt_bad_key", "signing failed");
    der->push_back(static_cast<std::uint8_t>(ht));
    psbt.inputs[i].SetPartialSig(pubkey, *der);
    ++added;
  }
  return added;
}

Status SignPsbtTapscript(Psbt& psbt, std::size_t index, const crypto::SecretKey& seckey,
                         const std::optional<Hash256>& leaf_hash,
                         const std::optional<std::array<std::uint8_t, 32>>& aux) {
  if (index >= psbt.inputs.size() || index >= psbt.tx.vin.size())
    return Invalid("psbt_input_out_of_range", "no input " + std::to_string(index));
  auto xonly = crypto::XOnlyFromSecret(seckey);
  if (!xonly) return Invalid("psbt_bad_key", "invalid secret key");
  auto spent = AllSpentOutputs(psbt);
  if (!spent.ok()) return std::move(spent).error();
  Destination dest = ClassifyScript((*spent)[index].script_pubkey);
  if (dest.type != ScriptType::kP2TR) return Invalid("psbt_unsupported_script", InputName(index) + ": not P2TR");
  crypto::XOnlyPubKey output_key;
  std::copy(dest.program.begin(), dest.program.end(), output_key.begin());
  PsbtInput& in = psbt.inputs[index];
  const std::uint32_t ht32 = in.SighashType().value_or(kSighashDefault);
  if (ht32 > 0xff || !IsValidTaprootHashType(static_cast<std::uint8_t>(ht32)))
    return Invalid("psbt_bad_sighash_type", InputName(index) + ": sighash type not valid for taproot");
  const auto ht = static_cast<std::uint8_t>(ht32);
  std::size_t signed_leaves = 0;
  for (const TapLeafScript& leaf : in.TapLeafScripts()) {
    if (leaf.leaf_version != kTapscriptLeafVersion) continue;
    const Hash256 lh = TapLeafHash(leaf.leaf_version, leaf.script);
    if (leaf_hash && *leaf_hash != lh) continue;
    bool has_key = false;
    ScriptIterator it(leaf.script);
    ScriptOp op;
    while (it.Next(op)) has_key |= op.IsPush() && SameBytes(op.data, *xonly);
    if (!has_key) continue;
    // Never sign for a leaf the spent output does not commit to.
    if (!VerifyTaprootCommitment(output_key, leaf.control_block, leaf.script))
      return Invalid("psbt_leaf_not_committed", InputName(index) + ": leaf is not committed to by the output key");
    auto sighash = TaprootSighash(psbt.tx, *spent, index, ht, std::nullopt, TapscriptExt{lh, 0xffffffff});
    if (!sighash.ok()) return std::move(sighash).error();
    std::array<std::uint8_t, 32> rand{};
    if (aux)
      rand = *aux;
    else
      crypto::RandomBytes(rand.data(), rand.size());
    auto sig = SignTapscript(seckey, *sighash, ht, rand);
    if (!sig) return Invalid("psbt_bad_key", "signing failed");
    in.SetTapScriptSig(*xonly, lh, *sig);
    ++signed_leaves;
  }
  if (signed_leaves == 0)
    return Invalid("psbt_no_matching_leaf", InputName(index) + ": no tapscript leaf contains this key");
  return Ok();
}

Status FinalizePsbtInput(Psbt& psbt, std::size_t index) {
  if (index >= psbt.inputs.size() || index >= psbt.tx.vin.size())
    return Invalid("psbt_input_out_of_range", "no input " + std::to_string(index));
  PsbtInput& in = psbt.inputs[index];
  if (in.IsFinalized()) return Ok();
  if (!in.TapLeafScripts().empty() && !in.TapScriptSigs().empty()) return FinalizeTapscript(psbt, index);
  if (auto key_sig = in.TapKeySig()) {
    // Key path: the signature alone (BIP-341). Verified against the output key.
    auto spent = AllSpentOutputs(psbt);
    if (!spent.ok()) return std::move(spent).error();
    Destination d = ClassifyScript((*spent)[index].script_pubkey);
    if (d.type != ScriptType::kP2TR) return Invalid("psbt_unsupported_script", InputName(index) + ": not P2TR");
    const std::uint8_t ht = key_sig->size() == 65 ? key_sig->back() : kSighashDefault;
    auto h = TaprootSighash(psbt.tx, *spent, index, ht);
    crypto::XOnlyPubKey q;
    std::copy(d.program.begin(), d.program.end(), q.begin());
    crypto::SchnorrSig s;
    std::copy(key_sig->begin(), key_sig->begin() + 64, s.begin());
    if (!h.ok() || (key_sig->size() == 65 && ht == kSighashDefault) || !crypto::SchnorrVerify(q, *h, s))
      return Invalid("psbt_invalid_signature", InputName(index) + ": invalid taproot key-path signature");
    Bytes sig = *key_sig;
    ClearForFinal(in);
    in.SetFinalScriptWitness({sig});
    return Ok();
  }
  if (!in.TapLeafScripts().empty() || in.TapInternalKey())
    return Invalid("psbt_not_enough_signatures", InputName(index) + ": taproot input without signatures");
  auto info = CheckInputForEcdsaSigning(psbt, index);
  if (!info.ok()) return std::move(info).error();
  auto stack = EcdsaStack(psbt, index, *info);
  if (!stack.ok()) return std::move(stack).error();
  Bytes script_sig;
  std::vector<Bytes> witness;
  const Bytes redeem = in.RedeemScript().value_or(Bytes{});
  if (info->segwit_v0) {
    witness = std::move(*stack);
    if (info->p2wsh) witness.push_back(info->script_code);
    if (info->p2sh) script_sig = PushAll({redeem});
  } else {
    if (info->p2sh) stack->push_back(redeem);
    script_sig = PushAll(*stack);
  }
  ClearForFinal(in);
  if (!script_sig.empty()) in.SetFinalScriptSig(script_sig);
  if (!witness.empty()) in.SetFinalScriptWitness(witness);
  return Ok();
}

Status FinalizePsbt(Psbt& psbt) {
  for (std::size_t i = 0; i < psbt.inputs.size(); ++i) KRAY_TRY(FinalizePsbtInput(psbt, i));
  return Ok();
}

}  // namespace kray::bitcoin
