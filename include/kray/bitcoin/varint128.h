// LEB128 varints up to u128, exactly as ord's `varint.rs` (the Runes
// protocol's integer encoding): 7 bits per byte, least significant group
// first, high bit set on every byte but the last. At most 19 bytes; the 19th
// byte may only carry the top 2 bits of a u128.
#pragma once

#include <cstddef>

#include "kray/core/amount.h"
#include "kray/core/bytes.h"

namespace kray::bitcoin {

enum class VarintError {
  kOverlong,      // more than 19 bytes
  kOverflow,      // value does not fit in 128 bits
  kUnterminated,  // input ended with the continuation bit set
};

struct VarintDecoded {
  u128 value = 0;
  std::size_t length = 0;  // bytes consumed
};

// Appends the encoding of `n` to `out`.
void EncodeVarint128(u128 n, Bytes& out);
Bytes EncodeVarint128(u128 n);

// Decodes one varint from the start of `in`. On failure `*error` (if not
// null) receives the reason and nullopt-like {0,0} is returned with false.
bool DecodeVarint128(ByteSpan in, VarintDecoded* out, VarintError* error = nullptr);

}  // namespace kray::bitcoin
