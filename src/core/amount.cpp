#include "kray/core/amount.h"

namespace kray {

Result<Amount> ParseAmount(std::string_view text) {
  if (text.empty()) return Error::Invalid("invalid_amount", "amount is empty");
  for (char c : text) {
    if (c < '0' || c > '9')
      return Error::Invalid("invalid_amount",
                            "amount must be a non-negative integer in base units (no sign, fraction or exponent)");
  }
  // One spelling per value: SIGNING.md signs amounts and nonces as decimal
  // without leading zeros, so "007" would be a second request text for the
  // same signature (malleable input), and other parsers read a leading zero
  // as octal. "0" itself is canonical.
  if (text.size() > 1 && text[0] == '0') return Error::Invalid("invalid_amount", "amount must not have leading zeros");
  if (text.size() > 19) return Error::Invalid("invalid_amount", "amount exceeds 2^63-1");  // 2^63-1 has 19 digits
  u128 value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > kMaxAmount) return Error::Invalid("invalid_amount", "amount exceeds 2^63-1");
  return static_cast<Amount>(value);
}

std::optional<Amount> CheckedAdd(Amount a, Amount b) {
  u128 sum = static_cast<u128>(a) + b;
  if (sum > kMaxAmount) return std::nullopt;
  return static_cast<Amount>(sum);
}

std::optional<Amount> CheckedSub(Amount a, Amount b) {
  if (b > a) return std::nullopt;
  return a - b;
}

std::optional<Amount> MulDiv(Amount a, Amount b, Amount c) {
  if (c == 0) return std::nullopt;
  u128 q = static_cast<u128>(a) * b / c;
  if (q > kMaxAmount) return std::nullopt;
  return static_cast<Amount>(q);
}

std::string FormatUnits(Amount credits, int decimals) {
  std::string digits = std::to_string(credits);
  if (decimals <= 0) return digits;
  auto d = static_cast<std::size_t>(decimals);
  if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
  digits.insert(digits.size() - d, 1, '.');
  return digits;
}

}  // namespace kray
