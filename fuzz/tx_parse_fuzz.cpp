// libFuzzer target for the transaction parser (and what consumes parsed
// transactions: script iteration, address classification, sighashes).
// Properties: no crash / sanitizer report; any accepted input re-serializes
// to exactly the same bytes (the parser accepts only canonical encodings);
// txid/wtxid/weight are consistent. Build and run: docs/FUZZING.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kray/bitcoin/address.h"
#include "kray/bitcoin/script.h"
#include "kray/bitcoin/sighash.h"
#include "kray/bitcoin/transaction.h"

namespace {

void Check(bool cond) {
  if (!cond) std::abort();
}

void Exercise(const kray::Bytes& input, const kray::bitcoin::Transaction& tx, bool allow_witness) {
  using namespace kray::bitcoin;
  // Round trip: byte-identical re-serialization.
  const kray::Bytes again = SerializeTransaction(tx, allow_witness);
  Check(again == input);
  auto reparsed = ParseTransaction(again, allow_witness);
  Check(reparsed.ok() && *reparsed == tx);
  Check(TxWeight(tx) == SerializeTransaction(tx, false).size() * 3 + SerializeTransaction(tx, true).size());
  if (!tx.HasWitness()) Check(Txid(tx) == Wtxid(tx));

  for (const TxOut& out : tx.vout) {
    ScriptIterator it(out.script_pubkey);
    ScriptOp op;
    while (it.Next(op)) Check(op.offset < out.script_pubkey.size());
    (void)ScriptToAsm(out.script_pubkey);
    auto addr = ScriptPubKeyToAddress(out.script_pubkey, kray::Network::kMainnet);
    if (addr.ok()) {
      auto back = AddressToScriptPubKey(*addr, kray::Network::kMainnet);
      Check(back.ok() && *back == out.script_pubkey);
    }
  }
  if (!tx.vin.empty() && tx.vin.size() <= 64) {
    // Spend the tx's own outputs (cycled) as if they were the prevouts.
    std::vector<TxOut> spent;
    for (std::size_t i = 0; i < tx.vin.size(); ++i)
      spent.push_back(tx.vout.empty() ? TxOut{} : tx.vout[i % tx.vout.size()]);
    const std::uint8_t hash_type = static_cast<std::uint8_t>(tx.locktime & 0x83);
    auto msg = TaprootSigMsg(tx, spent, 0, hash_type);
    if (IsValidTaprootHashType(hash_type) && ((hash_type & 3) != kSighashSingle || !tx.vout.empty())) Check(msg.ok());
    (void)SegwitV0Sighash(tx, 0, tx.vin[0].script_sig, 0, tx.locktime);
    (void)LegacySighash(tx, 0, tx.vin[0].script_sig, tx.locktime);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kray::Bytes input(data, data + size);
  for (bool allow_witness : {true, false}) {
    auto tx = kray::bitcoin::ParseTransaction(input, allow_witness);
    if (tx.ok()) Exercise(input, *tx, allow_witness);
  }
  return 0;
}
