// Bitcoin Script building and parsing: opcodes, minimal data pushes
// (OP_0/OP_1..OP_16/OP_1NEGATE, direct pushes, OP_PUSHDATA1/2/4), script
// numbers, and an iterator that reports truncated pushes instead of reading
// past the end. Follows Bitcoin Core script/script.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

// The opcodes krayd builds or recognises by name (values from script.h).
enum Opcode : std::uint8_t {
  OP_0 = 0x00,
  OP_PUSHDATA1 = 0x4c,
  OP_PUSHDATA2 = 0x4d,
  OP_PUSHDATA4 = 0x4e,
  OP_1NEGATE = 0x4f,
  OP_1 = 0x51,
  OP_2 = 0x52,
  OP_3 = 0x53,
  OP_13 = 0x5d,  // Runestone marker
  OP_16 = 0x60,
  OP_RETURN = 0x6a,
  OP_DUP = 0x76,
  OP_EQUAL = 0x87,
  OP_EQUALVERIFY = 0x88,
  OP_NUMEQUAL = 0x9c,
  OP_HASH160 = 0xa9,
  OP_CODESEPARATOR = 0xab,
  OP_CHECKSIG = 0xac,
  OP_CHECKSIGVERIFY = 0xad,
  OP_CHECKMULTISIG = 0xae,
  OP_CHECKSIGADD = 0xba,  // BIP-342
};

// Largest script element (MAX_SCRIPT_ELEMENT_SIZE) and script (MAX_SCRIPT_SIZE
// for non-tapscript); builders/parsers do not enforce these, callers may.
inline constexpr std::size_t kMaxScriptElementSize = 520;
inline constexpr std::size_t kMaxScriptSize = 10'000;

// OP_n for 0 <= n <= 16.
std::uint8_t EncodeOpN(int n);
// n for OP_0, OP_1..OP_16; nullopt otherwise.
std::optional<int> DecodeOpN(std::uint8_t opcode);

// CScriptNum encoding (little-endian, sign bit in the last byte, minimal).
Bytes ScriptNumEncode(std::int64_t n);

// Appends opcodes and pushes to a script.
class ScriptBuilder {
 public:
  ScriptBuilder& Op(std::uint8_t opcode);
  // Minimal push (BIP-62 / Core CheckMinimalPush): empty -> OP_0, one byte
  // 1..16 -> OP_n, 0x81 -> OP_1NEGATE, else the shortest push opcode.
  ScriptBuilder& Push(ByteSpan data);
  // Data push that never uses OP_n for small single bytes (what Core's
  // `CScript << vector` does): direct push / PUSHDATA1/2/4 by size only.
  ScriptBuilder& PushRaw(ByteSpan data);
  // Integer push: OP_0, OP_1NEGATE, OP_1..OP_16, else a CScriptNum push.
  ScriptBuilder& PushInt(std::int64_t n);

  const Bytes& script() const { return script_; }
  Bytes Take() { return std::move(script_); }

 private:
  Bytes script_;
};

// One parsed instruction. For pushes (opcode <= OP_PUSHDATA4), `data` is a
// view of the pushed bytes inside the script being iterated.
struct ScriptOp {
  std::uint8_t opcode = 0;
  ByteSpan data;
  std::size_t offset = 0;  // position of the opcode byte in the script

  bool IsPush() const { return opcode <= OP_PUSHDATA4; }
};

// Walks a script. Next() returns false at the end or on a malformed push;
// distinguish with ok(). After an error, error() says what went wrong:
// "script_truncated_push_length" (PUSHDATA length field cut off) or
// "script_truncated_push" (fewer data bytes than the push announces).
class ScriptIterator {
 public:
  explicit ScriptIterator(ByteSpan script) : script_(script) {}
  bool Next(ScriptOp& op);
  bool ok() const { return !error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }

 private:
  ByteSpan script_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

// Parses the whole script into instructions (first error wins).
Result<std::vector<ScriptOp>> ParseScript(ByteSpan script);

// True if a push op uses the minimal encoding for its data (Core's
// CheckMinimalPush). Non-push opcodes return true.
bool IsMinimalPush(const ScriptOp& op);

// True if the script consists only of push opcodes (and OP_1NEGATE, OP_1..16),
// i.e. Core's IsPushOnly; false for malformed scripts.
bool IsPushOnly(ByteSpan script);

// Human-readable form, e.g. "OP_DUP OP_HASH160 89ab.. OP_EQUALVERIFY".
// Unknown opcodes print as 0xNN; a malformed tail prints "[error]".
std::string ScriptToAsm(ByteSpan script);

}  // namespace kray::bitcoin
