// Runestone decipher/encipher, a line-by-line port of ord's
// crates/ordinals/src/runestone.rs (+ runestone/message.rs, tag.rs, flag.rs).
#include "kray/bitcoin/runestone.h"

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <map>

#include "kray/bitcoin/varint128.h"

namespace kray::bitcoin {
namespace {

constexpr std::uint8_t kOpReturn = 0x6a;
constexpr std::uint8_t kMagic = 0x5d;  // OP_PUSHNUM_13
constexpr std::uint8_t kOpPushData1 = 0x4c, kOpPushData2 = 0x4d, kOpPushData4 = 0x4e;

// One script instruction as rust-bitcoin's non-minimal `instructions()`
// yields it: a data push (opcodes 0x00..0x4e), any other opcode, or an error
// (a push running past the end of the script).
struct Instruction {
  enum Kind { kPush, kOp, kError } kind = kError;
  std::uint8_t opcode = 0;
  ByteSpan data;
};

// Reads the instruction at `pos`; advances `pos`. Bounds-checked throughout.
Instruction NextInstruction(ByteSpan script, std::size_t& pos) {
  Instruction ins;
  const std::uint8_t op = script[pos++];
  ins.opcode = op;
  std::size_t len = 0;
  if (op <= 0x4b) {
    len = op;
  } else if (op >= kOpPushData1 && op <= kOpPushData4) {
    const std::size_t width = op == kOpPushData1 ? 1 : op == kOpPushData2 ? 2 : 4;
    if (script.size() - pos < width) return ins;  // kError
    std::uint64_t l = 0;
    for (std::size_t i = 0; i < width; ++i) l |= std::uint64_t{script[pos + i]} << (8 * i);
    pos += width;
    len = static_cast<std::size_t>(l);
  } else {
    ins.kind = Instruction::kOp;
    return ins;
  }
  if (script.size() - pos < len) return ins;  // kError
  ins.kind = Instruction::kPush;
  ins.data = script.subspan(pos, len);
  pos += len;
  return ins;
}

enum class PayloadKind { kNone, kValid, kInvalid };
struct Payload {
  PayloadKind kind = PayloadKind::kNone;
  Bytes bytes;
  Flaw flaw = Flaw::kOpcode;
};

Payload FindPayload(const std::vector<ByteSpan>& scripts) {
  for (ByteSpan script : scripts) {
    std::size_t pos = 0;
    if (script.empty()) continue;
    Instruction first = NextInstruction(script, pos);
    if (first.kind != Instruction::kOp || first.opcode != kOpReturn) continue;
    // Errors in the magic position just mean "not a runestone" (ord ignores
    // invalid OP_RETURN scripts without the protocol identifier).
    if (pos >= script.size()) continue;
    Instruction magic = NextInstruction(script, pos);
    if (magic.kind != Instruction::kOp || magic.opcode != kMagic) continue;
    Payload p;
    p.kind = PayloadKind::kValid;
    while (pos < script.size()) {
      Instruction ins = NextInstruction(script, pos);
      if (ins.kind == Instruction::kPush) {
        p.bytes.insert(p.bytes.end(), ins.data.begin(), ins.data.end());
      } else {
        p.kind = PayloadKind::kInvalid;
        p.flaw = ins.kind == Instruction::kOp ? Flaw::kOpcode : Flaw::kInvalidScript;
        p.bytes.clear();
        return p;
      }
    }
    return p;
  }
  return {};
}

using Fields = std::map<u128, std::deque<u128>>;

// ord's Tag::take: consumes the first N values of `tag` only if `with`
// accepts them; a rejected or missing value stays in `fields`.
template <std::size_t N, class F>
auto Take(Fields& fields, RuneTag tag, F with) -> decltype(with(std::array<u128, N>{})) {
  auto it = fields.find(static_cast<u128>(tag));
  if (it == fields.end() || it->second.size() < N) return std::nullopt;
  std::array<u128, N> values;
  for (std::size_t i = 0; i < N; ++i) values[i] = it->second[i];
  auto value = with(values);
  if (!value) return std::nullopt;
  it->second.erase(it->second.begin(), it->second.begin() + N);
  if (it->second.empty()) fields.erase(it);
  return value;
}

bool TakeFlag(u128& flags, RuneFlag flag) {
  const u128 mask = u128{1} << static_cast<unsigned>(flag);
  const bool set = (flags & mask) != 0;
  flags &= ~mask;
  return set;
}

template <class T>
std::optional<T> Narrow(u128 v) {
  if (v > static_cast<u128>(std::numeric_limits<T>::max())) return std::nullopt;
  return static_cast<T>(v);
}

bool IsUnicodeScalar(u128 v) {
  return v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff);
}

struct Message {
  std::optional<Flaw> flaw;
  std::vector<Edict> edicts;
  Fields fields;
};

Message MessageFromIntegers(std::size_t n_outputs, const std::vector<u128>& payload) {
  Message m;
  for (std::size_t i = 0; i < payload.size(); i += 2) {
    const u128 tag = payload[i];
    if (tag == static_cast<u128>(RuneTag::kBody)) {
      RuneId id;
      for (std::size_t j = i + 1; j < payload.size(); j += 4) {
        if (payload.size() - j < 4) {
          if (!m.flaw) m.flaw = Flaw::kTrailingIntegers;
          break;
        }
        auto next = NextRuneId(id, payload[j], payload[j + 1]);
        if (!next) {
          if (!m.flaw) m.flaw = Flaw::kEdictRuneId;
          break;
        }
        // Output == n_outputs is allowed: split among all non-OP_RETURN outputs.
        auto output = Narrow<std::uint32_t>(payload[j + 3]);
        if (!output || *output > n_outputs) {
          if (!m.flaw) m.flaw = Flaw::kEdictOutput;
          break;
        }
        id = *next;
        m.edicts.push_back(Edict{*next, payload[j + 2], *output});
      }
      break;
    }
    if (i + 1 >= payload.size()) {
      if (!m.flaw) m.flaw = Flaw::kTruncatedField;
      break;
    }
    m.fields[tag].push_back(payload[i + 1]);
  }
  return m;
}

void EncodeTag(RuneTag tag, u128 value, Bytes& out) {
  EncodeVarint128(static_cast<u128>(tag), out);
  EncodeVarint128(value, out);
}

template <class T>
void EncodeOption(RuneTag tag, const std::optional<T>& v, Bytes& out) {
  if (v) EncodeTag(tag, static_cast<u128>(*v), out);
}

}  // namespace

std::string_view FlawName(Flaw flaw) {
  switch (flaw) {
    case Flaw::kEdictOutput:
      return "edict_output";
    case Flaw::kEdictRuneId:
      return "edict_rune_id";
    case Flaw::kInvalidScript:
      return "invalid_script";
    case Flaw::kOpcode:
      return "opcode";
    case Flaw::kSupplyOverflow:
      return "supply_overflow";
    case Flaw::kTrailingIntegers:
      return "trailing_integers";
    case Flaw::kTruncatedField:
      return "truncated_field";
    case Flaw::kUnrecognizedEvenTag:
      return "unrecognized_even_tag";
    case Flaw::kUnrecognizedFlag:
      return "unrecognized_flag";
    case Flaw::kVarint:
      return "varint";
  }
  return "unknown";
}

std::optional<u128> EtchingSupply(const Etching& e) {
  const u128 premine = e.premine.value_or(0);
  const u128 cap = e.terms && e.terms->cap ? *e.terms->cap : 0;
  const u128 amount = e.terms && e.terms->amount ? *e.terms->amount : 0;
  u128 minted;
  if (__builtin_mul_overflow(cap, amount, &minted)) return std::nullopt;
  u128 supply;
  if (__builtin_add_overflow(premine, minted, &supply)) return std::nullopt;
  return supply;
}

std::optional<std::vector<u128>> RunestoneIntegers(ByteSpan payload) {
  std::vector<u128> ints;
  std::size_t i = 0;
  while (i < payload.size()) {
    VarintDecoded d;
    if (!DecodeVarint128(payload.subspan(i), &d)) return std::nullopt;
    ints.push_back(d.value);
    i += d.length;
  }
  return ints;
}

std::optional<RuneArtifact> DecipherRunestone(const Transaction& tx) {
  std::vector<Bytes> scripts;
  scripts.reserve(tx.vout.size());
  for (const auto& out : tx.vout) scripts.push_back(out.script_pubkey);
  return DecipherRunestone(scripts);
}

std::optional<RuneArtifact> DecipherRunestone(const std::vector<Bytes>& output_scripts) {
  std::vector<ByteSpan> spans(output_scripts.begin(), output_scripts.end());
  Payload payload = FindPayload(spans);
  if (payload.kind == PayloadKind::kNone) return std::nullopt;
  if (payload.kind == PayloadKind::kInvalid) return Cenotaph{payload.flaw, std::nullopt, std::nullopt};

  auto integers = RunestoneIntegers(payload.bytes);
  if (!integers) return Cenotaph{Flaw::kVarint, std::nullopt, std::nullopt};

  const std::size_t n_outputs = output_scripts.size();
  Message msg = MessageFromIntegers(n_outputs, *integers);
  Fields& fields = msg.fields;
  std::optional<Flaw> flaw = msg.flaw;

  u128 flags = Take<1>(fields, RuneTag::kFlags, [](auto v) { return std::optional<u128>(v[0]); }).value_or(0);

  std::optional<Etching> etching;
  if (TakeFlag(flags, RuneFlag::kEtching)) {
    Etching e;
    e.divisibility = Take<1>(fields, RuneTag::kDivisibility, [](auto v) -> std::optional<std::uint8_t> {
      auto d = Narrow<std::uint8_t>(v[0]);
      if (!d || *d > Etching::kMaxDivisibility) return std::nullopt;
      return d;
    });
    e.premine = Take<1>(fields, RuneTag::kPremine, [](auto v) { return std::optional<u128>(v[0]); });
    e.rune = Take<1>(fields, RuneTag::kRune, [](auto v) { return std::optional<Rune>(Rune{v[0]}); });
    e.spacers = Take<1>(fields, RuneTag::kSpacers, [](auto v) -> std::optional<std::uint32_t> {
      auto s = Narrow<std::uint32_t>(v[0]);
      if (!s || *s > Etching::kMaxSpacers) return std::nullopt;
      return s;
    });
    e.symbol = Take<1>(fields, RuneTag::kSymbol, [](auto v) -> std::optional<char32_t> {
      if (!IsUnicodeScalar(v[0])) return std::nullopt;
      return static_cast<char32_t>(v[0]);
    });
    if (TakeFlag(flags, RuneFlag::kTerms)) {
      auto u64 = [](auto v) { return Narrow<std::uint64_t>(v[0]); };
      Terms t;
      t.cap = Take<1>(fields, RuneTag::kCap, [](auto v) { return std::optional<u128>(v[0]); });
      t.height_start = Take<1>(fields, RuneTag::kHeightStart, u64);
      t.height_end = Take<1>(fields, RuneTag::kHeightEnd, u64);
      t.amount = Take<1>(fields, RuneTag::kAmount, [](auto v) { return std::optional<u128>(v[0]); });
      t.offset_start = Take<1>(fields, RuneTag::kOffsetStart, u64);
      t.offset_end = Take<1>(fields, RuneTag::kOffsetEnd, u64);
      e.terms = t;
    }
    e.turbo = TakeFlag(flags, RuneFlag::kTurbo);
    etching = e;
  }

  std::optional<RuneId> mint = Take<2>(fields, RuneTag::kMint, [](auto v) -> std::optional<RuneId> {
    auto block = Narrow<std::uint64_t>(v[0]);
    auto txi = Narrow<std::uint32_t>(v[1]);
    if (!block || !txi) return std::nullopt;
    return MakeRuneId(*block, *txi);
  });

  std::optional<std::uint32_t> pointer =
      Take<1>(fields, RuneTag::kPointer, [n_outputs](auto v) -> std::optional<std::uint32_t> {
        auto p = Narrow<std::uint32_t>(v[0]);
        if (!p || *p >= n_outputs) return std::nullopt;
        return p;
      });

  if (etching && !EtchingSupply(*etching)) {
    if (!flaw) flaw = Flaw::kSupplyOverflow;
  }
  if (flags != 0) {
    if (!flaw) flaw = Flaw::kUnrecognizedFlag;
  }
  for (const auto& [tag, values] : fields) {
    if (tag % 2 == 0) {
      if (!flaw) flaw = Flaw::kUnrecognizedEvenTag;
      break;
    }
  }
  if (flaw) {
    Cenotaph c;
    c.flaw = flaw;
    c.mint = mint;
    if (etching) c.etching = etching->rune;
    return c;
  }
  Runestone rs;
  rs.edicts = std::move(msg.edicts);
  rs.etching = etching;
  rs.mint = mint;
  rs.pointer = pointer;
  return rs;
}

Bytes RunestonePayload(const Runestone& rs) {
  Bytes payload;
  if (rs.etching) {
    const Etching& e = *rs.etching;
    u128 flags = u128{1} << static_cast<unsigned>(RuneFlag::kEtching);
    if (e.terms) flags |= u128{1} << static_cast<unsigned>(RuneFlag::kTerms);
    if (e.turbo) flags |= u128{1} << static_cast<unsigned>(RuneFlag::kTurbo);
    EncodeTag(RuneTag::kFlags, flags, payload);
    if (e.rune) EncodeTag(RuneTag::kRune, e.rune->value, payload);
    EncodeOption(RuneTag::kDivisibility, e.divisibility, payload);
    EncodeOption(RuneTag::kSpacers, e.spacers, payload);
    EncodeOption(RuneTag::kSymbol, e.symbol, payload);
    EncodeOption(RuneTag::kPremine, e.premine, payload);
    if (e.terms) {
      EncodeOption(RuneTag::kAmount, e.terms->amount, payload);
      EncodeOption(RuneTag::kCap, e.terms->cap, payload);
      EncodeOption(RuneTag::kHeightStart, e.terms->height_start, payload);
      EncodeOption(RuneTag::kHeightEnd, e.terms->height_end, payload);
      EncodeOption(RuneTag::kOffsetStart, e.terms->offset_start, payload);
      EncodeOption(RuneTag::kOffsetEnd, e.terms->offset_end, payload);
    }
  }
  if (rs.mint) {
    EncodeTag(RuneTag::kMint, rs.mint->block, payload);
    EncodeTag(RuneTag::kMint, rs.mint->tx, payload);
  }
  EncodeOption(RuneTag::kPointer, rs.pointer, payload);
  if (!rs.edicts.empty()) {
    EncodeVarint128(static_cast<u128>(RuneTag::kBody), payload);
    std::vector<Edict> edicts = rs.edicts;
    std::stable_sort(edicts.begin(), edicts.end(), [](const Edict& a, const Edict& b) { return a.id < b.id; });
    RuneId prev;
    for (const Edict& e : edicts) {
      // Sorted ids make both deltas non-negative (ord's RuneId::delta).
      const u128 block = e.id.block - prev.block;
      const u128 txd = block == 0 ? e.id.tx - prev.tx : e.id.tx;
      EncodeVarint128(block, payload);
      EncodeVarint128(txd, payload);
      EncodeVarint128(e.amount, payload);
      EncodeVarint128(e.output, payload);
      prev = e.id;
    }
  }
  return payload;
}

Bytes EncipherRunestone(const Runestone& rs) {
  Bytes payload = RunestonePayload(rs);
  Bytes script{kOpReturn, kMagic};
  if (payload.empty()) return script;  // ord pushes nothing for an empty payload
  // Minimal push of the whole payload (rust-bitcoin's push_slice).
  const std::size_t n = payload.size();
  if (n <= 0x4b) {
    script.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xff) {
    script.push_back(kOpPushData1);
    script.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xffff) {
    script.push_back(kOpPushData2);
    script.push_back(static_cast<std::uint8_t>(n));
    script.push_back(static_cast<std::uint8_t>(n >> 8));
  } else {
    script.push_back(kOpPushData4);
    for (int i = 0; i < 4; ++i) script.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
  script.insert(script.end(), payload.begin(), payload.end());
  return script;
}

}  // namespace kray::bitcoin
