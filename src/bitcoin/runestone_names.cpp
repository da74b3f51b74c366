// Rune names, spaced names and rune ids (ord's rune.rs, spaced_rune.rs,
// rune_id.rs), plus decimal u128 text.
#include <algorithm>

#include "kray/bitcoin/runestone.h"

namespace kray::bitcoin {

std::optional<RuneId> MakeRuneId(std::uint64_t block, std::uint32_t tx) {
  if (block == 0 && tx > 0) return std::nullopt;
  return RuneId{block, tx};
}

std::optional<RuneId> NextRuneId(const RuneId& prev, u128 block_delta, u128 tx_delta) {
  if (block_delta > UINT64_MAX) return std::nullopt;
  std::uint64_t block;
  if (__builtin_add_overflow(prev.block, static_cast<std::uint64_t>(block_delta), &block)) return std::nullopt;
  if (tx_delta > UINT32_MAX) return std::nullopt;
  std::uint32_t tx = static_cast<std::uint32_t>(tx_delta);
  if (block_delta == 0 && __builtin_add_overflow(prev.tx, tx, &tx)) return std::nullopt;
  return MakeRuneId(block, tx);
}

std::string RuneIdToString(const RuneId& id) {
  return std::to_string(id.block) + ":" + std::to_string(id.tx);
}

Result<RuneId> ParseRuneId(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return Error::Invalid("rune_id_invalid", "rune id must be block:tx");
  auto block = ParseU128(s.substr(0, colon));
  auto tx = ParseU128(s.substr(colon + 1));
  if (!block || *block > UINT64_MAX || !tx || *tx > UINT32_MAX)
    return Error::Invalid("rune_id_invalid", "rune id must be block:tx with block < 2^64, tx < 2^32");
  return RuneId{static_cast<std::uint64_t>(*block), static_cast<std::uint32_t>(*tx)};
}

std::string RuneName(Rune rune) {
  u128 n = rune.value;
  if (n == ~u128{0}) return "BCGDENLQRQWDSLRUGSNLBTMFIJAV";  // n + 1 would overflow
  n += 1;
  std::string out;
  while (n > 0) {
    out.push_back(static_cast<char>('A' + static_cast<int>((n - 1) % 26)));
    n = (n - 1) / 26;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Result<Rune> ParseRuneName(std::string_view s) {
  if (s.empty()) return Error::Invalid("rune_name_invalid", "empty rune name");
  u128 x = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c < 'A' || c > 'Z') return Error::Invalid("rune_name_invalid", "rune names use A-Z only");
    if (i > 0 && __builtin_add_overflow(x, u128{1}, &x))
      return Error::Invalid("rune_name_out_of_range", "rune name out of range");
    if (__builtin_mul_overflow(x, u128{26}, &x) || __builtin_add_overflow(x, u128(c - 'A'), &x))
      return Error::Invalid("rune_name_out_of_range", "rune name out of range");
  }
  return Rune{x};
}

std::string SpacedRuneName(Rune rune, std::uint32_t spacers) {
  const std::string name = RuneName(rune);
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    out.push_back(name[i]);
    if (i + 1 < name.size() && i < 32 && (spacers >> i) & 1u) out += "\xe2\x80\xa2";  // U+2022
  }
  return out;
}

Result<SpacedRune> ParseSpacedRune(std::string_view s) {
  std::string letters;
  std::uint32_t spacers = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    bool spacer = false;
    if (c >= 'A' && c <= 'Z') {
      letters.push_back(c);
    } else if (c == '.') {
      spacer = true;
    } else if (s.substr(i, 3) == "\xe2\x80\xa2") {
      spacer = true;
      i += 2;
    } else {
      return Error::Invalid("rune_name_invalid", "invalid character in rune name");
    }
    if (spacer) {
      if (letters.empty()) return Error::Invalid("rune_name_invalid", "leading spacer");
      if (letters.size() - 1 >= 32) return Error::Invalid("rune_name_out_of_range", "rune name out of range");
      const std::uint32_t flag = 1u << (letters.size() - 1);
      if (spacers & flag) return Error::Invalid("rune_name_invalid", "double spacer");
      spacers |= flag;
    }
  }
  // ord: 32 - leading_zeros(spacers) >= len -> trailing spacer.
  const int used_bits = spacers == 0 ? 0 : 32 - __builtin_clz(spacers);
  if (static_cast<std::size_t>(used_bits) >= letters.size() && spacers != 0)
    return Error::Invalid("rune_name_invalid", "trailing spacer");
  auto rune = ParseRuneName(letters);
  if (!rune) return rune.error();
  return SpacedRune{*rune, spacers};
}

std::string U128ToString(u128 v) {
  if (v == 0) return "0";
  std::string out;
  while (v > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<u128> ParseU128(std::string_view s) {
  if (s.empty()) return std::nullopt;
  u128 x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(x, u128{10}, &x) || __builtin_add_overflow(x, u128(c - '0'), &x)) return std::nullopt;
  }
  return x;
}

}  // namespace kray::bitcoin
