// PSBT roles without signatures: Creator, Updater, Combiner, Extractor
// (BIP-174 "Roles"), plus fee and spent-output helpers.
#include <algorithm>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/psbt.h"
#include "kray/bitcoin/script.h"
#include "kray/crypto/hash.h"
#include "psbt_internal.h"

namespace kray::bitcoin {
namespace {

using namespace psbt_internal;

// Bitcoin's MAX_MONEY: amounts outside [0, 21e6 BTC] make a fee meaningless.
constexpr std::int64_t kMaxMoney = 21'000'000LL * 100'000'000LL;

bool ScriptHasPush(ByteSpan script, ByteSpan data) {
  ScriptIterator it(script);
  ScriptOp op;
  while (it.Next(op)) {
    if (op.IsPush() && op.data.size() == data.size() && std::equal(op.data.begin(), op.data.end(), data.begin()))
      return true;
  }
  return false;
}

const Bytes* FindScriptByHash160(const std::vector<Bytes>& scripts, ByteSpan hash) {
  for (const Bytes& s : scripts) {
    auto h = crypto::HashOf160(s);
    if (hash.size() == h.size() && std::equal(h.begin(), h.end(), hash.begin())) return &s;
  }
  return nullptr;
}

const Bytes* FindScriptBySha256(const std::vector<Bytes>& scripts, ByteSpan hash) {
  for (const Bytes& s : scripts) {
    auto h = crypto::Sha256(s);
    if (hash.size() == h.size() && std::equal(h.begin(), h.end(), hash.begin())) return &s;
  }
  return nullptr;
}

// Keys from `origins` that a script spends to: pushed in one of `scripts`,
// or hashed into a P2PKH/P2WPKH program.
template <class SetFn>
void AddOrigins(const std::map<Bytes, KeyOrigin>& origins, const std::vector<const Bytes*>& scripts,
                const Destination& dest, SetFn&& set) {
  for (const auto& [pubkey, origin] : origins) {
    bool used = false;
    for (const Bytes* s : scripts) used |= s && ScriptHasPush(*s, pubkey);
    if ((dest.type == ScriptType::kP2PKH || dest.type == ScriptType::kP2WPKH)) {
      auto h = crypto::HashOf160(pubkey);
      used |= std::equal(h.begin(), h.end(), dest.program.begin(), dest.program.end());
    }
    if (used) set(pubkey, origin);
  }
}

}  // namespace

Result<Psbt> CreatePsbt(const Transaction& unsigned_tx) {
  for (const TxIn& in : unsigned_tx.vin) {
    if (!in.script_sig.empty() || !in.witness.empty())
      return Invalid("psbt_unsigned_tx_not_empty", "creator: inputs must have empty scriptSigs and witnesses");
  }
  Psbt psbt;
  psbt.tx = unsigned_tx;
  psbt.inputs.resize(unsigned_tx.vin.size());
  psbt.outputs.resize(unsigned_tx.vout.size());
  return psbt;
}

Status UpdatePsbt(Psbt& psbt, const PsbtUpdateData& data) {
  if (psbt.inputs.size() != psbt.tx.vin.size() || psbt.outputs.size() != psbt.tx.vout.size())
    return Invalid("psbt_input_count_mismatch", "maps do not match the unsigned tx");
  for (std::size_t i = 0; i < psbt.tx.vin.size(); ++i) {
    PsbtInput& in = psbt.inputs[i];
    if (in.IsFinalized()) continue;
    const OutPoint& prevout = psbt.tx.vin[i].prevout;
    const Transaction* prev = nullptr;
    for (const Transaction& t : data.previous_txs)
      if (Txid(t) == prevout.txid && prevout.n < t.vout.size()) prev = &t;
    std::optional<TxOut> utxo;
    if (prev)
      utxo = prev->vout[prevout.n];
    else if (auto w = in.WitnessUtxo())
      utxo = *w;
    if (!utxo) continue;

    Destination dest = ClassifyScript(utxo->script_pubkey);
    const Bytes* redeem = nullptr;
    const Bytes* witness = nullptr;
    Destination inner = dest;
    if (dest.type == ScriptType::kP2SH) {
      redeem = FindScriptByHash160(data.scripts, dest.program);
      if (redeem) {
        in.SetRedeemScript(*redeem);
        inner = ClassifyScript(*redeem);
      }
    }
    if (inner.type == ScriptType::kP2WSH) {
      witness = FindScriptBySha256(data.scripts, inner.program);
      if (witness) in.SetWitnessScript(*witness);
    }
    // BIP-174: witness UTXO for segwit spends, the full transaction otherwise.
    const bool segwit = inner.witness_version >= 0;
    if (segwit)
      in.SetWitnessUtxo(*utxo);
    else if (prev)
      in.SetNonWitnessUtxo(*prev);
    AddOrigins(data.key_origins, {redeem, witness}, inner,
               [&](const Bytes& pk, const KeyOrigin& o) { in.SetBip32Derivation(pk, o); });
  }
  for (std::size_t i = 0; i < psbt.tx.vout.size(); ++i) {
    PsbtOutput& out = psbt.outputs[i];
    Destination dest = ClassifyScript(psbt.tx.vout[i].script_pubkey);
    const Bytes* redeem = nullptr;
    const Bytes* witness = nullptr;
    Destination inner = dest;
    if (dest.type == ScriptType::kP2SH && (redeem = FindScriptByHash160(data.scripts, dest.program))) {
      out.map[MakeKey(psbt::kOutRedeemScript)] = *redeem;
      inner = ClassifyScript(*redeem);
    }
    if (inner.type == ScriptType::kP2WSH && (witness = FindScriptBySha256(data.scripts, inner.program)))
      out.map[MakeKey(psbt::kOutWitnessScript)] = *witness;
    AddOrigins(data.key_origins, {redeem, witness}, inner,
               [&](const Bytes& pk, const KeyOrigin& o) { out.SetBip32Derivation(pk, o); });
  }
  return Ok();
}

Result<Psbt> CombinePsbts(const std::vector<Psbt>& psbts) {
  if (psbts.empty()) return Invalid("psbt_combine_empty", "nothing to combine");
  Psbt out = psbts[0];
  for (std::size_t k = 1; k < psbts.size(); ++k) {
    const Psbt& other = psbts[k];
    // BIP-174: only PSBTs for the same unsigned transaction can be combined.
    if (!(other.tx == out.tx) || other.inputs.size() != out.inputs.size() || other.outputs.size() != out.outputs.size())
      return Invalid("psbt_combine_tx_mismatch", "PSBTs are for different transactions");
    out.global.insert(other.global.begin(), other.global.end());
    for (std::size_t i = 0; i < out.inputs.size(); ++i)
      out.inputs[i].map.insert(other.inputs[i].map.begin(), other.inputs[i].map.end());
    for (std::size_t i = 0; i < out.outputs.size(); ++i)
      out.outputs[i].map.insert(other.outputs[i].map.begin(), other.outputs[i].map.end());
  }
  return out;
}

Result<Transaction> ExtractTransaction(const Psbt& psbt) {
  if (psbt.inputs.size() != psbt.tx.vin.size())
    return Invalid("psbt_input_count_mismatch", "maps do not match the unsigned tx");
  Transaction tx = psbt.tx;
  for (std::size_t i = 0; i < tx.vin.size(); ++i) {
    const PsbtInput& in = psbt.inputs[i];
    if (!in.IsFinalized()) return Invalid("psbt_not_finalized", "input " + std::to_string(i) + " is not finalized");
    tx.vin[i].script_sig = in.FinalScriptSig().value_or(Bytes{});
    tx.vin[i].witness = in.FinalScriptWitness().value_or(std::vector<Bytes>{});
  }
  return tx;
}

std::optional<TxOut> PsbtSpentOutput(const Psbt& psbt, std::size_t input_index) {
  if (input_index >= psbt.inputs.size() || input_index >= psbt.tx.vin.size()) return std::nullopt;
  const PsbtInput& in = psbt.inputs[input_index];
  const OutPoint& prevout = psbt.tx.vin[input_index].prevout;
  if (auto prev = in.NonWitnessUtxo()) {
    if (Txid(*prev) == prevout.txid && prevout.n < prev->vout.size()) return prev->vout[prevout.n];
  }
  return in.WitnessUtxo();
}

std::optional<std::int64_t> PsbtFee(const Psbt& psbt) {
  std::int64_t in_sum = 0, out_sum = 0;
  for (std::size_t i = 0; i < psbt.tx.vin.size(); ++i) {
    auto utxo = PsbtSpentOutput(psbt, i);
    if (!utxo || utxo->value < 0 || utxo->value > kMaxMoney) return std::nullopt;
    in_sum += utxo->value;  // at most ~1e6 inputs * 2.1e15: cannot overflow int64 before the check
    if (in_sum > kMaxMoney) return std::nullopt;
  }
  for (const TxOut& o : psbt.tx.vout) {
    if (o.value < 0 || o.value > kMaxMoney) return std::nullopt;
    out_sum += o.value;
    if (out_sum > kMaxMoney) return std::nullopt;
  }
  return in_sum - out_sum;
}

}  // namespace kray::bitcoin
