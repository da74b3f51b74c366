// libFuzzer target for the Runestone decoder (ord semantics) and rune names.
// Input: one mode byte, then either
//   mode & 0x80: a serialized transaction (ParseTransaction + decipher), or
//   otherwise:   one output script, placed at output (mode>>3)%n of n =
//                1 + (mode & 7) outputs (the others empty).
// Properties checked (abort on violation):
//   - every deciphered Runestone re-enciphers to a script that deciphers to
//     the same Runestone (edicts stably sorted by id) with the same output count;
//   - its payload splits back into integers;
//   - a rune / spaced-rune name that parses formats back to the same value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "kray/bitcoin/runestone.h"
#include "kray/bitcoin/transaction.h"
#include "kray/bitcoin/varint128.h"

using namespace kray;
using namespace kray::bitcoin;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckRoundTrip(const RuneArtifact& art, std::size_t n_outputs) {
  const auto* rs = std::get_if<Runestone>(&art);
  if (!rs) return;
  Runestone sorted = *rs;
  std::stable_sort(sorted.edicts.begin(), sorted.edicts.end(),
                   [](const Edict& a, const Edict& b) { return a.id < b.id; });
  Check(sorted == *rs);  // decoded edicts are already in id order (delta encoding)
  std::vector<Bytes> scripts(n_outputs);
  scripts[0] = EncipherRunestone(*rs);
  auto again = DecipherRunestone(scripts);
  Check(again.has_value());
  Check(*again == art);
  Check(RunestoneIntegers(RunestonePayload(*rs)).has_value());
}

void CheckNames(const std::uint8_t* data, std::size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 200));
  if (auto r = ParseRuneName(s); r.ok()) Check(RuneName(*r) == s);
  if (auto sr = ParseSpacedRune(s); sr.ok()) {
    auto back = ParseSpacedRune(SpacedRuneName(sr->rune, sr->spacers));
    Check(back.ok() && back->rune == sr->rune && back->spacers == sr->spacers);
  }
  if (auto id = ParseRuneId(s); id.ok()) Check(RuneIdToString(*id).size() <= s.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 200000) return 0;
  const std::uint8_t mode = data[0];
  const ByteSpan rest(data + 1, size - 1);

  VarintDecoded d;
  if (DecodeVarint128(rest, &d)) Check(EncodeVarint128(d.value).size() <= d.length);

  if (mode & 0x80) {
    auto tx = ParseTransaction(rest);
    if (tx.ok()) {
      auto art = DecipherRunestone(*tx);
      if (art && !tx->vout.empty()) CheckRoundTrip(*art, tx->vout.size());
    }
  } else {
    const std::size_t n = 1 + (mode & 7);
    std::vector<Bytes> scripts(n);
    scripts[(mode >> 3) % n] = Bytes(rest.begin(), rest.end());
    auto art = DecipherRunestone(scripts);
    if (art) CheckRoundTrip(*art, n);
  }
  CheckNames(rest.data(), rest.size());
  return 0;
}
