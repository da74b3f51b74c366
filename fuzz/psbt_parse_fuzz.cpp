// libFuzzer target for the PSBT (BIP-174/371) parser.
// Input: raw bytes parsed with ParsePsbt. Properties checked (abort on
// violation), besides "no crash / no sanitizer report":
//   - an accepted PSBT serializes to bytes that parse again to an equal PSBT,
//     and re-serializing those gives the same bytes (serialization is canonical);
//   - base64 encode/decode round-trips the serialization, and the input read
//     as text that decodes as (strict, canonical) base64 re-encodes to itself;
//   - every typed accessor decodes the records the parser accepted;
//   - the finalizer/extractor/fee helpers do not crash on accepted input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kray/bitcoin/psbt.h"

using namespace kray;
using namespace kray::bitcoin;

namespace {
void Check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto decoded = Base64Decode(text); decoded.ok()) Check(Base64Encode(*decoded) == text);
  (void)ParsePsbtBase64(text);
  auto parsed = ParsePsbt(ByteSpan(data, size));
  if (!parsed.ok()) {
    Check(!parsed.error().code.empty());
    return 0;
  }
  const Psbt& psbt = *parsed;
  Bytes ser = SerializePsbt(psbt);
  auto again = ParsePsbt(ser);
  Check(again.ok());
  Check(*again == psbt);
  Check(SerializePsbt(*again) == ser);
  auto b64 = Base64Decode(Base64Encode(ser));
  Check(b64.ok() && *b64 == ser);

  for (const PsbtInput& in : psbt.inputs) {
    auto nwu = in.NonWitnessUtxo();
    Check(nwu.has_value() == (in.map.count(Bytes{psbt::kInNonWitnessUtxo}) == 1));
    Check(in.WitnessUtxo().has_value() == (in.map.count(Bytes{psbt::kInWitnessUtxo}) == 1));
    Check(in.FinalScriptWitness().has_value() == (in.map.count(Bytes{psbt::kInFinalScriptWitness}) == 1));
    (void)in.PartialSigs();
    (void)in.Bip32Derivations();
    (void)in.TapScriptSigs();
    (void)in.TapLeafScripts();
    (void)in.TapBip32Derivations();
    (void)in.TapInternalKey();
    (void)in.TapMerkleRoot();
  }
  for (const PsbtOutput& out : psbt.outputs) {
    Check(out.TapTree().has_value() == (out.map.count(Bytes{psbt::kOutTapTree}) == 1));
    (void)out.Bip32Derivations();
    (void)out.TapBip32Derivations();
  }
  (void)PsbtFee(psbt);
  for (std::size_t i = 0; i < psbt.inputs.size() && i < 4; ++i) (void)CheckInputForEcdsaSigning(psbt, i);
  Psbt copy = psbt;
  (void)FinalizePsbt(copy);
  (void)ExtractTransaction(copy);
  return 0;
}
