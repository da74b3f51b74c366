// U256 and FormatRatio (see include/kray/defi/uint256.h).
#include "kray/defi/uint256.h"

#include <algorithm>

namespace kray::defi {
namespace {

// out = a * m modulo 2^256; returns the bits above 2^256 (at most 64).
std::uint64_t MulLimbs(const std::array<std::uint64_t, 4>& a, std::uint64_t m, std::array<std::uint64_t, 4>& out) {
  std::uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    u128 p = static_cast<u128>(a[i]) * m + carry;
    out[i] = static_cast<std::uint64_t>(p);
    carry = static_cast<std::uint64_t>(p >> 64);
  }
  return carry;
}

}  // namespace

U256 U256::FromU128(u128 v) {
  U256 r;
  r.limbs_[0] = static_cast<std::uint64_t>(v);
  r.limbs_[1] = static_cast<std::uint64_t>(v >> 64);
  return r;
}

std::optional<U256> U256::FromBytes(ByteSpan bytes) {
  if (bytes.size() != 32) return std::nullopt;
  U256 r;
  for (int i = 0; i < 32; ++i) {
    int limb = 3 - i / 8;
    r.limbs_[limb] = (r.limbs_[limb] << 8) | bytes[i];
  }
  return r;
}

std::array<std::uint8_t, 32> U256::ToBytes() const {
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 32; ++i) {
    int limb = 3 - i / 8;
    int shift = 8 * (7 - i % 8);
    out[i] = static_cast<std::uint8_t>(limbs_[limb] >> shift);
  }
  return out;
}

std::optional<u128> U256::ToU128() const {
  if (limbs_[2] != 0 || limbs_[3] != 0) return std::nullopt;
  return (static_cast<u128>(limbs_[1]) << 64) | limbs_[0];
}

U256 operator+(const U256& a, const U256& b) {
  U256 r;
  u128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    u128 s = static_cast<u128>(a.limbs_[i]) + b.limbs_[i] + carry;
    r.limbs_[i] = static_cast<std::uint64_t>(s);
    carry = s >> 64;
  }
  return r;
}

U256 operator-(const U256& a, const U256& b) {
  U256 r;
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    std::uint64_t x = a.limbs_[i], y = b.limbs_[i];
    std::uint64_t d = x - y - borrow;
    borrow = (x < y || (x == y && borrow)) ? 1 : 0;
    r.limbs_[i] = d;
  }
  return r;
}

U256 U256::MulU64(std::uint64_t m) const {
  return MulU64Full(m).first;
}

std::pair<U256, std::uint64_t> U256::MulU64Full(std::uint64_t m) const {
  U256 r;
  std::uint64_t high = MulLimbs(limbs_, m, r.limbs_);
  return {r, high};
}

U256 U256::operator<<(unsigned n) const {
  U256 r;
  if (n >= 256) return r;
  unsigned limb = n / 64, bits = n % 64;
  for (int i = 3; i >= 0; --i) {
    int src = i - static_cast<int>(limb);
    if (src < 0) continue;
    std::uint64_t v = limbs_[src] << bits;
    if (bits != 0 && src > 0) v |= limbs_[src - 1] >> (64 - bits);
    r.limbs_[i] = v;
  }
  return r;
}

U256 U256::operator>>(unsigned n) const {
  U256 r;
  if (n >= 256) return r;
  unsigned limb = n / 64, bits = n % 64;
  for (int i = 0; i < 4; ++i) {
    unsigned src = i + limb;
    if (src > 3) continue;
    std::uint64_t v = limbs_[src] >> bits;
    if (bits != 0 && src < 3) v |= limbs_[src + 1] << (64 - bits);
    r.limbs_[i] = v;
  }
  return r;
}

std::strong_ordering operator<=>(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i)
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] <=> b.limbs_[i];
  return std::strong_ordering::equal;
}

std::pair<U256, U256> U256::DivMod(const U256& a, const U256& b) {
  if (b.IsZero()) return {U256(), U256()};
  U256 q, r;
  for (int i = 255; i >= 0; --i) {
    bool top = (r.limbs_[3] >> 63) != 0;  // the shift below would carry out
    r = r << 1;
    r.limbs_[0] |= (a.limbs_[i / 64] >> (i % 64)) & 1;
    if (top || r >= b) {
      r = r - b;  // exact: the true value is below 2b
      q.limbs_[i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
  return {q, r};
}

std::string U256::ToDecimal() const {
  if (IsZero()) return "0";
  std::string out;
  U256 v = *this;
  const U256 ten(10);
  while (!v.IsZero()) {
    auto [q, r] = DivMod(v, ten);
    out.push_back(static_cast<char>('0' + r.limbs_[0]));
    v = q;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string FormatRatio(const U256& num, const U256& den, int exp10, int frac_digits) {
  if (den.IsZero()) return "0";
  auto [q, r] = U256::DivMod(num, den);
  std::string digits = q.ToDecimal();
  const int int_len = static_cast<int>(digits.size());
  const int wanted = std::max(0, frac_digits + exp10);
  for (int i = 0; i < wanted; ++i) {
    // 10r can need 260 bits: keep the part above 2^256 and subtract den
    // while the two-part value is still >= den (at most nine times).
    auto [low, high] = r.MulU64Full(10);
    int d = 0;
    while (high > 0 || low >= den) {
      if (low < den) --high;  // borrow from the high part
      low = low - den;
      ++d;
    }
    digits.push_back(static_cast<char>('0' + d));
    r = low;
  }
  int point = int_len + exp10;
  if (point > static_cast<int>(digits.size())) digits.append(point - digits.size(), '0');
  if (point <= 0) {
    digits.insert(0, static_cast<std::size_t>(1 - point), '0');
    point = 1;
  }
  std::string integer = digits.substr(0, point);
  std::string fraction = digits.substr(point, static_cast<std::size_t>(std::max(0, frac_digits)));
  integer.erase(0, std::min(integer.find_first_not_of('0'), integer.size() - 1));
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return fraction.empty() ? integer : integer + "." + fraction;
}

}  // namespace kray::defi
