#include "kray/core/bytes.h"

#include <array>

namespace kray {

std::string ToHex(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  char* p = out.data();
  for (std::uint8_t b : data) {
    *p++ = kDigits[b >> 4];
    *p++ = kDigits[b & 0xf];
  }
  return out;
}

// Each character's digit value, kNotHex for a character that is not a hex
// digit. A lookup per digit and no branch on it: on random hex (account
// ids, hashes) a branch per digit class mispredicted on about one digit in
// three, ~60 ns per 32 digits (docs/BENCHMARKS.md, fifty-third round).
constexpr std::uint8_t kNotHex = 0x10;
constexpr std::array<std::uint8_t, 256> kHexValues = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(kNotHex);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::uint8_t>(c - 'A' + 10);
  return t;
}();
constexpr std::array<std::uint8_t, 256> kLowerHexValues = [] {
  std::array<std::uint8_t, 256> t = kHexValues;
  for (int c = 'A'; c <= 'F'; ++c) t[c] = kNotHex;
  return t;
}();

namespace {
bool DecodeWith(const std::array<std::uint8_t, 256>& values, std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != 2 * out.size()) return false;
  std::uint8_t seen = 0;  // every digit's value or'ed: kNotHex once any is not one
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t hi = values[static_cast<unsigned char>(hex[2 * i])];
    const std::uint8_t lo = values[static_cast<unsigned char>(hex[2 * i + 1])];
    seen |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return (seen & kNotHex) == 0;
}
}  // namespace

bool DecodeHexInto(std::string_view hex, std::span<std::uint8_t> out) {
  return DecodeWith(kHexValues, hex, out);
}

bool DecodeLowerHexInto(std::string_view hex, std::span<std::uint8_t> out) {
  return DecodeWith(kLowerHexValues, hex, out);
}

std::optional<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  if (!DecodeHexInto(hex, out)) return std::nullopt;
  return out;
}

}  // namespace kray
