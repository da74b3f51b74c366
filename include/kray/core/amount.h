// Amounts are unsigned integers in an asset's base unit ("credits"). No
// floating point anywhere: arithmetic is checked, and intermediates that can
// exceed 64 bits use unsigned __int128.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kray/core/result.h"

namespace kray {

using Amount = std::uint64_t;
using u128 = unsigned __int128;

// The API accepts amounts up to 2^63-1 so they fit SQLite's signed INTEGER.
inline constexpr Amount kMaxAmount = 0x7fffffffffffffffULL;

// Parses a canonical decimal integer string: digits only, no sign, no
// fraction, no exponent, no spaces, not empty, no leading zeros ("0" is the
// only string starting with '0'), <= kMaxAmount. Error "invalid_amount"
// (kInvalidInput) otherwise. Thread-safe (pure).
Result<Amount> ParseAmount(std::string_view text);

// Checked arithmetic: nullopt on overflow/underflow or a result > kMaxAmount.
std::optional<Amount> CheckedAdd(Amount a, Amount b);
std::optional<Amount> CheckedSub(Amount a, Amount b);
// floor(a * b / c) with a 128-bit intermediate; nullopt if c == 0 or the
// quotient exceeds kMaxAmount.
std::optional<Amount> MulDiv(Amount a, Amount b, Amount c);

// Formats credits as a decimal with `decimals` fraction digits: 1500, 3 -> "1.500".
std::string FormatUnits(Amount credits, int decimals);

}  // namespace kray
