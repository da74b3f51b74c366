// Runestones: the Runes protocol message carried in an OP_RETURN OP_13
// output, exactly as ord defines it (docs.ordinals.com "Runes" spec and
// ord's crates/ordinals: runestone.rs, rune.rs, spaced_rune.rs, edict.rs,
// etching.rs, flaw.rs). Decoding never fails: a malformed message is a
// Cenotaph carrying the first Flaw found, as in ord. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kray/bitcoin/transaction.h"
#include "kray/core/amount.h"
#include "kray/core/bytes.h"
#include "kray/core/params.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

// Message tags (even = must be understood, odd = may be ignored).
enum class RuneTag : std::uint8_t {
  kBody = 0,
  kFlags = 2,
  kRune = 4,
  kPremine = 6,
  kCap = 8,
  kAmount = 10,
  kHeightStart = 12,
  kHeightEnd = 14,
  kOffsetStart = 16,
  kOffsetEnd = 18,
  kMint = 20,
  kPointer = 22,
  kCenotaph = 126,
  kDivisibility = 1,
  kSpacers = 3,
  kSymbol = 5,
  kNop = 127,
};

// Bit positions in the Flags field.
enum class RuneFlag : std::uint8_t { kEtching = 0, kTerms = 1, kTurbo = 2, kCenotaph = 127 };

// Why a runestone is a cenotaph (ord's Flaw, same names).
enum class Flaw {
  kEdictOutput,
  kEdictRuneId,
  kInvalidScript,
  kOpcode,
  kSupplyOverflow,
  kTrailingIntegers,
  kTruncatedField,
  kUnrecognizedEvenTag,
  kUnrecognizedFlag,
  kVarint,
};
std::string_view FlawName(Flaw flaw);  // snake_case: "edict_output", ...

// block:tx of the etching transaction. block == 0 requires tx == 0.
struct RuneId {
  std::uint64_t block = 0;
  std::uint32_t tx = 0;
  friend bool operator==(const RuneId&, const RuneId&) = default;
  friend auto operator<=>(const RuneId&, const RuneId&) = default;
};
// nullopt for block == 0 && tx > 0.
std::optional<RuneId> MakeRuneId(std::uint64_t block, std::uint32_t tx);
// Delta-decoding step of edict ids (ord's RuneId::next); nullopt on overflow.
std::optional<RuneId> NextRuneId(const RuneId& prev, u128 block_delta, u128 tx_delta);
std::string RuneIdToString(const RuneId& id);  // "block:tx"
Result<RuneId> ParseRuneId(std::string_view s);

// A rune name as its integer (modified base-26: A=0, Z=25, AA=26, ...).
struct Rune {
  u128 value = 0;
  friend bool operator==(const Rune&, const Rune&) = default;
};
std::string RuneName(Rune rune);                 // "A", "AA", ...
Result<Rune> ParseRuneName(std::string_view s);  // "rune_name_invalid" / "rune_name_out_of_range"
// Name with a '•' (U+2022) after letter i for every set bit i of spacers
// (bits past the last letter are ignored, as in ord).
std::string SpacedRuneName(Rune rune, std::uint32_t spacers);
struct SpacedRune {
  Rune rune;
  std::uint32_t spacers = 0;
};
// Accepts '.' or '•' as spacer; rejects leading, double and trailing spacers.
Result<SpacedRune> ParseSpacedRune(std::string_view s);

// Etching rules for names (ord's crates/ordinals/src/rune.rs).
//
// Names at or above kReservedRune (ord's Rune::RESERVED, "AAAAAAAAAAAAAAAAAAAAAAAAAAA",
// 27 letters) cannot be etched explicitly; an etching that gives no name gets
// the reserved name ReservedRune(block, tx) of its rune id.
inline constexpr u128 kReservedRune = (u128{0x04d10cef280da966ULL} << 64) | u128{0xfa0704602570a3d6ULL};
bool IsReservedRune(Rune rune);
// kReservedRune + (block << 32 | tx). Cannot overflow for a u64 block.
Rune ReservedRune(std::uint64_t block, std::uint32_t tx);
// The bytes an etching's commit transaction must push in a tapscript: the
// name's little-endian integer with trailing zero bytes removed.
Bytes RuneCommitment(Rune rune);
// Height at which names start unlocking: 840,000 on mainnet (4 halvings),
// 2,520,000 on testnet (ord's testnet3: 12 halvings), 0 on signet and regtest.
std::uint32_t FirstRuneHeight(Network network);
// Shortest name that may be etched in a block at `height`: ord's
// Rune::minimum_at_height. Names unlock from 13 letters to 1 over the 210,000
// blocks after FirstRuneHeight, one length per 17,500 blocks, linearly within
// each interval.
Rune MinimumRuneAtHeight(Network network, std::uint32_t height);

struct Edict {
  RuneId id;
  u128 amount = 0;
  std::uint32_t output = 0;  // == number of outputs means "split among all"
  friend bool operator==(const Edict&, const Edict&) = default;
};

struct Terms {
  std::optional<u128> amount;
  std::optional<u128> cap;
  std::optional<std::uint64_t> height_start, height_end;
  std::optional<std::uint64_t> offset_start, offset_end;
  friend bool operator==(const Terms&, const Terms&) = default;
};

struct Etching {
  static constexpr std::uint8_t kMaxDivisibility = 38;
  static constexpr std::uint32_t kMaxSpacers = 0x07ffffff;

  std::optional<std::uint8_t> divisibility;
  std::optional<u128> premine;
  std::optional<Rune> rune;
  std::optional<std::uint32_t> spacers;
  std::optional<char32_t> symbol;  // a Unicode scalar value
  std::optional<Terms> terms;
  bool turbo = false;
  friend bool operator==(const Etching&, const Etching&) = default;
};
// premine + cap * amount; nullopt on u128 overflow.
std::optional<u128> EtchingSupply(const Etching& etching);

struct Runestone {
  std::vector<Edict> edicts;
  std::optional<Etching> etching;
  std::optional<RuneId> mint;
  std::optional<std::uint32_t> pointer;
  friend bool operator==(const Runestone&, const Runestone&) = default;
};

struct Cenotaph {
  std::optional<Flaw> flaw;
  std::optional<Rune> etching;  // an etched rune is burned, not lost
  std::optional<RuneId> mint;
  friend bool operator==(const Cenotaph&, const Cenotaph&) = default;
};

using RuneArtifact = std::variant<Runestone, Cenotaph>;

// ord's Runestone::decipher: nullopt if no output script starts with
// OP_RETURN OP_13; otherwise the first such output's message.
std::optional<RuneArtifact> DecipherRunestone(const Transaction& tx);
// Same on bare output scripts (only their count and contents matter).
std::optional<RuneArtifact> DecipherRunestone(const std::vector<Bytes>& output_scripts);

// ord's Runestone::encipher: OP_RETURN OP_13 <one push of the payload>.
// Edicts are sorted by id (stable) and delta-encoded. Never fails.
Bytes EncipherRunestone(const Runestone& runestone);
// The payload (concatenated varints) without the script wrapper.
Bytes RunestonePayload(const Runestone& runestone);

// Splits a payload into integers (nullopt on a varint error).
std::optional<std::vector<u128>> RunestoneIntegers(ByteSpan payload);

// Decimal text of a u128 (there is no std::to_string for it).
std::string U128ToString(u128 v);
// Parses a decimal u128; nullopt on empty, non-digit or overflow.
std::optional<u128> ParseU128(std::string_view s);

}  // namespace kray::bitcoin
