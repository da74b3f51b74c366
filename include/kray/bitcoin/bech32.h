// Bech32 (BIP-173) and Bech32m (BIP-350) strings and segwit addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

namespace kray::bitcoin {

enum class Bech32Encoding { kBech32, kBech32m };

struct Bech32Decoded {
  Bech32Encoding encoding;
  std::string hrp;                 // lower case
  std::vector<std::uint8_t> data;  // 5-bit values, checksum removed
};

// Encodes 5-bit values under `hrp` (must be lower case).
std::string Bech32Encode(Bech32Encoding enc, std::string_view hrp, const std::vector<std::uint8_t>& data5);

// Decodes a bech32/bech32m string (BIP-173 rules: length <= 90, no mixed
// case, printable HRP, valid checksum of either kind).
Result<Bech32Decoded> Bech32Decode(std::string_view str);

// Regroups bits (e.g. 8 -> 5 with padding, 5 -> 8 without). nullopt if the
// input has invalid padding or out-of-range values.
std::optional<std::vector<std::uint8_t>> ConvertBits(const std::vector<std::uint8_t>& in, int from, int to, bool pad);

struct WitnessProgram {
  int version = 0;  // 0..16
  Bytes program;    // 2..40 bytes
};

// Decodes a segwit address for the expected HRP. Version 0 must use Bech32,
// versions 1..16 Bech32m (BIP-350); v0 programs must be 20 or 32 bytes.
Result<WitnessProgram> DecodeSegwitAddress(std::string_view expected_hrp, std::string_view addr);

// Encodes a witness program as a segwit address (lower case).
Result<std::string> EncodeSegwitAddress(std::string_view hrp, const WitnessProgram& wp);

// scriptPubKey of a witness program: OP_n <push program>.
Bytes WitnessScriptPubKey(const WitnessProgram& wp);

}  // namespace kray::bitcoin
