#include "kray/bitcoin/varint128.h"

namespace kray::bitcoin {

void EncodeVarint128(u128 n, Bytes& out) {
  while (n >> 7 > 0) {
    out.push_back(static_cast<std::uint8_t>(n & 0x7f) | 0x80);
    n >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(n));
}

Bytes EncodeVarint128(u128 n) {
  Bytes out;
  EncodeVarint128(n, out);
  return out;
}

// Mirrors ord's varint::decode, including the order of its checks (byte 20
// is "overlong" even when the 19th byte would already overflow).
bool DecodeVarint128(ByteSpan in, VarintDecoded* out, VarintError* error) {
  u128 n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i > 18) {
      if (error) *error = VarintError::kOverlong;
      return false;
    }
    const u128 value = in[i] & 0x7f;
    if (i == 18 && (value & 0x7c) != 0) {
      if (error) *error = VarintError::kOverflow;
      return false;
    }
    n |= value << (7 * i);
    if ((in[i] & 0x80) == 0) {
      out->value = n;
      out->length = i + 1;
      return true;
    }
  }
  if (error) *error = VarintError::kUnterminated;
  return false;
}

}  // namespace kray::bitcoin
