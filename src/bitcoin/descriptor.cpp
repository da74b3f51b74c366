// BIP-380 "Checksum" section; same algorithm as Bitcoin Core's
// script/descriptor.cpp DescriptorChecksum().
#include "kray/bitcoin/descriptor.h"

#include <cstdint>

namespace kray::bitcoin {
namespace {

constexpr std::string_view kInputCharset =
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    "ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
constexpr std::string_view kChecksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint64_t PolyMod(std::uint64_t c, int val) {
  const std::uint8_t c0 = static_cast<std::uint8_t>(c >> 35);
  c = ((c & 0x7ffffffffULL) << 5) ^ static_cast<std::uint64_t>(val);
  if (c0 & 1) c ^= 0xf5dee51989ULL;
  if (c0 & 2) c ^= 0xa9fdca3312ULL;
  if (c0 & 4) c ^= 0x1bab10e32dULL;
  if (c0 & 8) c ^= 0x3706b1677aULL;
  if (c0 & 16) c ^= 0x644d626ffdULL;
  return c;
}

}  // namespace

std::optional<std::string> DescriptorChecksum(std::string_view desc) {
  std::uint64_t c = 1;
  int cls = 0;
  int cls_count = 0;
  for (char ch : desc) {
    const auto pos = kInputCharset.find(ch);
    if (pos == std::string_view::npos || ch == '#') return std::nullopt;
    // Low 5 bits of the position are one symbol; the high bits of every
    // three characters are packed into one extra symbol.
    c = PolyMod(c, static_cast<int>(pos & 31));
    cls = cls * 3 + static_cast<int>(pos >> 5);
    if (++cls_count == 3) {
      c = PolyMod(c, cls);
      cls = 0;
      cls_count = 0;
    }
  }
  if (cls_count > 0) c = PolyMod(c, cls);
  for (int j = 0; j < 8; ++j) c = PolyMod(c, 0);
  c ^= 1;
  std::string out(8, ' ');
  for (int j = 0; j < 8; ++j) out[j] = kChecksumCharset[(c >> (5 * (7 - j))) & 31];
  return out;
}

Result<std::string> AddDescriptorChecksum(std::string_view desc) {
  auto sum = DescriptorChecksum(desc);
  if (!sum) return Error::Invalid("descriptor_invalid_character", "character outside the descriptor charset");
  return std::string(desc) + "#" + *sum;
}

Result<std::string> CheckDescriptorChecksum(std::string_view s, bool require_checksum) {
  const auto hash = s.find('#');
  if (hash == std::string_view::npos) {
    if (require_checksum) return Error::Invalid("descriptor_missing_checksum", "descriptor has no checksum");
    if (!DescriptorChecksum(s)) return Error::Invalid("descriptor_invalid_character", "invalid character");
    return std::string(s);
  }
  if (s.find('#', hash + 1) != std::string_view::npos)
    return Error::Invalid("descriptor_bad_checksum", "multiple '#' symbols");
  const std::string_view body = s.substr(0, hash);
  const std::string_view given = s.substr(hash + 1);
  if (given.size() != 8) return Error::Invalid("descriptor_bad_checksum_length", "checksum must be 8 characters");
  auto expected = DescriptorChecksum(body);
  if (!expected) return Error::Invalid("descriptor_invalid_character", "invalid character");
  if (given != *expected) return Error::Invalid("descriptor_bad_checksum", "descriptor checksum mismatch");
  return std::string(body);
}

}  // namespace kray::bitcoin
