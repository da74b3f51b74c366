#include "kray/bitcoin/sighash.h"

#include "kray/bitcoin/script.h"
#include "kray/bitcoin/serialize.h"
#include "kray/bitcoin/taproot_key.h"
#include "kray/crypto/hash.h"

namespace kray::bitcoin {
namespace {

void WriteOutPoint(ByteWriter& w, const OutPoint& p) {
  w.WriteBytes(p.txid);
  w.WriteU32LE(p.n);
}

void WriteTxOut(ByteWriter& w, const TxOut& o) {
  w.WriteI64LE(o.value);
  w.WriteVarBytes(o.script_pubkey);
}

Hash256 Sha(const ByteWriter& w) {
  return crypto::Sha256(w.data());
}

}  // namespace

bool IsValidTaprootHashType(std::uint8_t t) {
  return t <= 0x03 || (t >= 0x81 && t <= 0x83);
}

TaprootPrecomputed PrecomputeTaproot(const Transaction& tx, const std::vector<TxOut>& spent_outputs) {
  ByteWriter prevouts, amounts, spks, seqs, outs;
  for (const TxIn& in : tx.vin) {
    WriteOutPoint(prevouts, in.prevout);
    seqs.WriteU32LE(in.sequence);
  }
  for (const TxOut& o : spent_outputs) {
    amounts.WriteI64LE(o.value);
    spks.WriteVarBytes(o.script_pubkey);
  }
  for (const TxOut& o : tx.vout) WriteTxOut(outs, o);
  return {Sha(prevouts), Sha(amounts), Sha(spks), Sha(seqs), Sha(outs)};
}

Result<Bytes> TaprootSigMsg(const Transaction& tx, const std::vector<TxOut>& spent_outputs, std::size_t input_index,
                            std::uint8_t hash_type, const std::optional<Bytes>& annex,
                            const std::optional<TapscriptExt>& script) {
  if (!IsValidTaprootHashType(hash_type)) return Error::Invalid("sighash_bad_hash_type", "invalid taproot hash type");
  if (input_index >= tx.vin.size()) return Error::Invalid("sighash_input_out_of_range", "input index out of range");
  if (spent_outputs.size() != tx.vin.size())
    return Error::Invalid("sighash_spent_outputs_mismatch", "need one spent output per input");
  const std::uint8_t output_type = hash_type == kSighashDefault ? kSighashAll : (hash_type & 0x03);
  const bool anyone_can_pay = (hash_type & kSighashAnyoneCanPay) != 0;
  if (output_type == kSighashSingle && input_index >= tx.vout.size())
    return Error::Invalid("sighash_single_no_output", "SIGHASH_SINGLE without a matching output");

  ByteWriter w(256);
  w.WriteU8(0x00);  // epoch
  w.WriteU8(hash_type);
  w.WriteI32LE(tx.version);
  w.WriteU32LE(tx.locktime);
  if (!anyone_can_pay) {
    const TaprootPrecomputed pre = PrecomputeTaproot(tx, spent_outputs);
    w.WriteBytes(pre.prevouts).WriteBytes(pre.amounts).WriteBytes(pre.script_pubkeys).WriteBytes(pre.sequences);
    if (output_type == kSighashAll) w.WriteBytes(pre.outputs);
  } else if (output_type == kSighashAll) {
    ByteWriter outs;
    for (const TxOut& o : tx.vout) WriteTxOut(outs, o);
    w.WriteBytes(Sha(outs));
  }
  const std::uint8_t spend_type = static_cast<std::uint8_t>((script ? 2 : 0) + (annex ? 1 : 0));
  w.WriteU8(spend_type);
  if (anyone_can_pay) {
    const TxIn& in = tx.vin[input_index];
    WriteOutPoint(w, in.prevout);
    WriteTxOut(w, spent_outputs[input_index]);  // amount || scriptPubKey (with CompactSize)
    w.WriteU32LE(in.sequence);
  } else {
    w.WriteU32LE(static_cast<std::uint32_t>(input_index));
  }
  if (annex) {
    ByteWriter a;
    a.WriteVarBytes(*annex);
    w.WriteBytes(Sha(a));
  }
  if (output_type == kSighashSingle) {
    ByteWriter o;
    WriteTxOut(o, tx.vout[input_index]);
    w.WriteBytes(Sha(o));
  }
  if (script) {
    w.WriteBytes(script->leaf_hash);
    w.WriteU8(0x00);  // key_version (BIP-342)
    w.WriteU32LE(script->codesep_pos);
  }
  return w.Take();
}

Result<Hash256> TaprootSighash(const Transaction& tx, const std::vector<TxOut>& spent_outputs, std::size_t input_index,
                               std::uint8_t hash_type, const std::optional<Bytes>& annex,
                               const std::optional<TapscriptExt>& script) {
  auto msg = TaprootSigMsg(tx, spent_outputs, input_index, hash_type, annex, script);
  if (!msg.ok()) return std::move(msg).error();
  return crypto::TaggedHash("TapSighash", *msg);
}

Result<Hash256> SegwitV0Sighash(const Transaction& tx, std::size_t input_index, ByteSpan script_code,
                                std::int64_t amount, std::uint32_t hash_type) {
  if (input_index >= tx.vin.size()) return Error::Invalid("sighash_input_out_of_range", "input index out of range");
  const bool acp = (hash_type & kSighashAnyoneCanPay) != 0;
  const std::uint32_t base = hash_type & 0x1f;
  Hash256 zero{};
  Hash256 hash_prevouts = zero, hash_sequence = zero, hash_outputs = zero;
  if (!acp) {
    ByteWriter p;
    for (const TxIn& in : tx.vin) WriteOutPoint(p, in.prevout);
    hash_prevouts = crypto::Sha256d(p.data());
  }
  if (!acp && base != kSighashSingle && base != kSighashNone) {
    ByteWriter s;
    for (const TxIn& in : tx.vin) s.WriteU32LE(in.sequence);
    hash_sequence = crypto::Sha256d(s.data());
  }
  if (base != kSighashSingle && base != kSighashNone) {
    ByteWriter o;
    for (const TxOut& out : tx.vout) WriteTxOut(o, out);
    hash_outputs = crypto::Sha256d(o.data());
  } else if (base == kSighashSingle && input_index < tx.vout.size()) {
    ByteWriter o;
    WriteTxOut(o, tx.vout[input_index]);
    hash_outputs = crypto::Sha256d(o.data());
  }
  ByteWriter w(256);
  w.WriteI32LE(tx.version);
  w.WriteBytes(hash_prevouts).WriteBytes(hash_sequence);
  WriteOutPoint(w, tx.vin[input_index].prevout);
  w.WriteVarBytes(script_code);
  w.WriteI64LE(amount);
  w.WriteU32LE(tx.vin[input_index].sequence);
  w.WriteBytes(hash_outputs);
  w.WriteU32LE(tx.locktime);
  w.WriteU32LE(hash_type);
  return crypto::Sha256d(w.data());
}

Result<Hash256> LegacySighash(const Transaction& tx, std::size_t input_index, ByteSpan script_code,
                              std::uint32_t hash_type) {
  if (input_index >= tx.vin.size()) return Error::Invalid("sighash_input_out_of_range", "input index out of range");
  const bool acp = (hash_type & kSighashAnyoneCanPay) != 0;
  const std::uint32_t base = hash_type & 0x1f;
  if (base == kSighashSingle && input_index >= tx.vout.size()) {
    Hash256 one{};
    one[0] = 1;  // uint256::ONE: Core's historical SIGHASH_SINGLE bug
    return one;
  }
  // CTransactionSignatureSerializer: scriptCode with OP_CODESEPARATORs removed.
  Bytes code;
  {
    ScriptIterator it(script_code);
    ScriptOp op;
    std::size_t last = 0;
    while (it.Next(op)) {
      if (op.opcode == OP_CODESEPARATOR) {
        code.insert(code.end(), script_code.begin() + static_cast<std::ptrdiff_t>(last),
                    script_code.begin() + static_cast<std::ptrdiff_t>(op.offset));
        last = op.offset + 1;
      }
    }
    code.insert(code.end(), script_code.begin() + static_cast<std::ptrdiff_t>(last), script_code.end());
  }
  ByteWriter w(256);
  w.WriteI32LE(tx.version);
  const std::size_t n_inputs = acp ? 1 : tx.vin.size();
  w.WriteCompactSize(n_inputs);
  for (std::size_t k = 0; k < n_inputs; ++k) {
    const std::size_t i = acp ? input_index : k;
    const TxIn& in = tx.vin[i];
    WriteOutPoint(w, in.prevout);
    if (i == input_index) {
      w.WriteVarBytes(code);
    } else {
      w.WriteCompactSize(0);
    }
    const bool zero_seq = i != input_index && (base == kSighashSingle || base == kSighashNone);
    w.WriteU32LE(zero_seq ? 0 : in.sequence);
  }
  const std::size_t n_outputs = base == kSighashNone ? 0 : base == kSighashSingle ? input_index + 1 : tx.vout.size();
  w.WriteCompactSize(n_outputs);
  for (std::size_t i = 0; i < n_outputs; ++i) {
    if (base == kSighashSingle && i != input_index) {
      w.WriteI64LE(-1);  // CTxOut() null output
      w.WriteCompactSize(0);
    } else {
      WriteTxOut(w, tx.vout[i]);
    }
  }
  w.WriteU32LE(tx.locktime);
  w.WriteU32LE(hash_type);
  return crypto::Sha256d(w.data());
}

Bytes EncodeTaprootSignature(const crypto::SchnorrSig& sig, std::uint8_t hash_type) {
  Bytes out(sig.begin(), sig.end());
  if (hash_type != kSighashDefault) out.push_back(hash_type);
  return out;
}

std::optional<Bytes> SignTaprootKeyPath(const crypto::SecretKey& internal_seckey,
                                        const std::optional<Hash256>& merkle_root, const Hash256& sighash,
                                        std::uint8_t hash_type, const std::array<std::uint8_t, 32>& aux) {
  auto pub = crypto::XOnlyFromSecret(internal_seckey);
  if (!pub) return std::nullopt;
  auto tweaked = crypto::TweakSecretForTaproot(internal_seckey, TapTweakHash(*pub, merkle_root));
  if (!tweaked) return std::nullopt;
  auto sig = crypto::SchnorrSign(*tweaked, sighash, aux);
  if (!sig) return std::nullopt;
  return EncodeTaprootSignature(*sig, hash_type);
}

std::optional<Bytes> SignTapscript(const crypto::SecretKey& seckey, const Hash256& sighash, std::uint8_t hash_type,
                                   const std::array<std::uint8_t, 32>& aux) {
  auto sig = crypto::SchnorrSign(seckey, sighash, aux);
  if (!sig) return std::nullopt;
  return EncodeTaprootSignature(*sig, hash_type);
}

}  // namespace kray::bitcoin
