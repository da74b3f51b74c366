// JSON text without a tree (see json_writer.h).
#include "json_writer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kray::api {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Appends nlohmann's escape for a byte below 0x80 and returns true, or
// returns false when the byte is written as it is.
bool AppendEscapedAscii(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return true;
    case '\\':
      out += "\\\\";
      return true;
    case '\b':
      out += "\\b";
      return true;
    case '\t':
      out += "\\t";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\f':
      out += "\\f";
      return true;
    case '\r':
      out += "\\r";
      return true;
    default:
      break;
  }
  if (c >= 0x20) return false;
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
  return true;
}

// True if any of the eight bytes in `word` is below 0x20, '"', '\\' or
// 0x80 and above: what AppendJsonString must look at byte by byte. Exact for
// the word as a whole: without such a byte no subtraction borrows, and
// every chain of borrows starts at one (the lowest one gets none and sets
// its own high bit). Responses are mostly hex, ids and digits: eight bytes
// pass in a few instructions instead of two comparisons each
// (docs/BENCHMARKS.md, sixty-seventh round).
bool NeedsCare(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
  const std::uint64_t below_space = word - 0x20 * kOnes;
  const std::uint64_t quote = (word ^ ('"' * kOnes)) - kOnes;
  const std::uint64_t backslash = (word ^ ('\\' * kOnes)) - kOnes;
  return ((below_space | quote | backslash | word) & kHighBits) != 0;
}

// A receipt's keys mostly differ in their first byte or their length:
// decided there, without a call to memcmp (the sort compares ~70 pairs a
// receipt). The same order as std::string_view's (bytes as unsigned char).
bool KeyLess(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0])
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  return a < b;
}

bool KeyEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || a[0] == b[0]) && a == b;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  const std::size_t start = out.size();
  out += '"';
  std::size_t plain_from = 0;  // s[plain_from, i) is appended as it is, later
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = std::min<std::size_t>(8, s.size() - i);
    std::uint64_t word = 0x3030303030303030ull;  // a short tail padded with '0's, which need no care
    if (n == 8)
      std::memcpy(&word, s.data() + i, 8);
    else
      std::memcpy(&word, s.data() + i, n);
    if (!NeedsCare(word)) {
      i += n;
      continue;
    }
    for (const std::size_t end = i + n; i < end; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        // Non-ASCII text is rare in responses (memos, names); nlohmann
        // writes it, so which byte sequences count as valid UTF-8 and what
        // replaces the rest stay exactly nlohmann's.
        out.resize(start);
        out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
      }
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(s.substr(plain_from, i - plain_from));
      AppendEscapedAscii(out, c);
      plain_from = i + 1;
    }
  }
  out.append(s.substr(plain_from));
  out += '"';
}

JsonObjectWriter& JsonObjectWriter::String(std::string_view key, std::string_view value) {
  std::string text;
  text.reserve(value.size() + 2);
  AppendJsonString(text, value);
  return Raw(key, std::move(text));
}

JsonObjectWriter& JsonObjectWriter::Unsigned(std::string_view key, std::uint64_t value) {
  return Raw(key, std::to_string(value));
}

JsonObjectWriter& JsonObjectWriter::Signed(std::string_view key, std::int64_t value) {
  return Raw(key, std::to_string(value));
}

JsonObjectWriter& JsonObjectWriter::Bool(std::string_view key, bool value) {
  return Raw(key, value ? "true" : "false");
}

JsonObjectWriter& JsonObjectWriter::Raw(std::string_view key, std::string json) {
  members_.emplace_back(key, std::move(json));
  return *this;
}

std::string JsonObjectWriter::Finish() {
  // The members' order by key, stable, so that of two equal keys the one
  // added last is the later one. Indices are sorted, not the members (a
  // swap of a member moves a string): a receipt's few by insertion
  // (std::stable_sort allocates a buffer), an account's balances by asset,
  // which may be thousands, by std::stable_sort.
  boost::container::small_vector<std::uint32_t, kInsertionSortMax> order(members_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  auto before = [this](std::uint32_t a, std::uint32_t b) { return KeyLess(members_[a].first, members_[b].first); };
  if (order.size() <= kInsertionSortMax) {
    for (std::size_t i = 1; i < order.size(); ++i)
      for (std::size_t j = i; j > 0 && before(order[j], order[j - 1]); --j) std::swap(order[j], order[j - 1]);
  } else {
    std::stable_sort(order.begin(), order.end(), before);
  }
  std::size_t size = 2;
  for (const auto& [key, value] : members_) size += key.size() + value.size() + 4;
  std::string out;
  out.reserve(size);
  out += '{';
  bool first = true;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& [key, value] = members_[order[k]];
    if (k + 1 < order.size() && KeyEqual(members_[order[k + 1]].first, key)) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, key);
    out += ':';
    out += value;
  }
  out += '}';
  members_.clear();
  return out;
}

}  // namespace kray::api
