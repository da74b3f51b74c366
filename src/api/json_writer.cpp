// JSON text without a tree (see json_writer.h).
#include "json_writer.h"

#include <algorithm>
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

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  // Non-ASCII text is rare in responses (memos, names); nlohmann writes it,
  // so which byte sequences count as valid UTF-8 and what replaces the rest
  // stay exactly nlohmann's.
  if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(plain_from, i - plain_from));
    AppendEscapedAscii(out, c);
    plain_from = i + 1;
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
  auto before = [this](std::uint32_t a, std::uint32_t b) { return members_[a].first < members_[b].first; };
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
    if (k + 1 < order.size() && members_[order[k + 1]].first == key) continue;
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
