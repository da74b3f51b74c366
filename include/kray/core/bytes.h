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

// Decodes hex of exactly N bytes.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> FromHexFixed(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace kray
