// A 256-bit unsigned integer for the AMM's price oracle and its display
// values. Value arithmetic (reserves, amounts, LP units) stays in u64 with
// checked u128 intermediates (amm.h); this type is for
//   - Uniswap v2's cumulative prices: UQ112x112 prices times seconds summed in
//     a uint256 where "+ overflow is desired" (UniswapV2Pair._update), so
//     + and - wrap modulo 2^256 on purpose;
//   - exact decimal strings of ratios whose numerator or denominator exceeds
//     128 bits (a route's spot price, its price impact).
// Not thread-safe in the sense that no type is: values are plain data.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "kray/core/amount.h"
#include "kray/core/bytes.h"

namespace kray::defi {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(std::uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT: implicit on purpose (literals)
  static U256 FromU128(u128 v);
  // 32 bytes, big-endian; nullopt for any other length.
  static std::optional<U256> FromBytes(ByteSpan bytes);

  std::array<std::uint8_t, 32> ToBytes() const;  // big-endian
  std::string ToDecimal() const;
  bool IsZero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  // The value if it fits in 128 bits.
  std::optional<u128> ToU128() const;

  // Modulo 2^256 (wrapping), as Solidity's unchecked uint256 in _update.
  friend U256 operator+(const U256& a, const U256& b);
  friend U256 operator-(const U256& a, const U256& b);
  // Modulo 2^256.
  U256 MulU64(std::uint64_t m) const;
  // The full product: its low 256 bits and the (at most 64) bits above them.
  std::pair<U256, std::uint64_t> MulU64Full(std::uint64_t m) const;
  U256 operator<<(unsigned n) const;
  U256 operator>>(unsigned n) const;

  friend bool operator==(const U256& a, const U256& b) = default;
  friend std::strong_ordering operator<=>(const U256& a, const U256& b);

  // Quotient and remainder; b must not be zero (returns {0, 0} if it is).
  static std::pair<U256, U256> DivMod(const U256& a, const U256& b);

 private:
  std::array<std::uint64_t, 4> limbs_{};  // little-endian limbs
};

// The exact decimal of (num / den) * 10^exp10, truncated (rounded toward
// zero) to at most `frac_digits` fractional digits, with trailing zeros (and
// a bare point) removed: (3, 2, 0, 18) -> "1.5", (1, 3, 2, 4) -> "33.3333".
// den == 0 gives "0". Exact for every input: no floating point.
std::string FormatRatio(const U256& num, const U256& den, int exp10, int frac_digits);

}  // namespace kray::defi
