// Byte strings and hex, used by every module that handles keys, hashes or
// serialized Bitcoin data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kray {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;
using Hash256 = std::array<std::uint8_t, 32>;

// Lowercase hex of the bytes.
std::string ToHex(ByteSpan data);

// Decodes hex (either case). nullopt on odd length or a non-hex character.
std::optional<Bytes> FromHex(std::string_view hex);

// Decodes hex (either case) of exactly out.size() bytes into `out`; false
// (out unspecified) on another length or a non-hex character.
bool DecodeHexInto(std::string_view hex, std::span<std::uint8_t> out);
// The same for lowercase hex only (the canonical form this project writes):
// false on an uppercase digit too. One pass where checking the case first
// (IsAccountId) and then decoding read each digit twice.
bool DecodeLowerHexInto(std::string_view hex, std::span<std::uint8_t> out);

// Decodes hex of exactly N bytes (no allocation: callers on hot paths).
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> FromHexFixed(std::string_view hex) {
  std::array<std::uint8_t, N> out;
  if (!DecodeHexInto(hex, out)) return std::nullopt;
  return out;
}

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace kray
