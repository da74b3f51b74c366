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
  // Stable, so that of two equal keys the one added last is the later one.
  // A receipt's few members by insertion (std::stable_sort allocates a
  // buffer); an account's balances by asset may be thousands.
  if (members_.size() <= kInsertionSortMax) {
    for (std::size_t i = 1; i < members_.size(); ++i)
      for (std::size_t j = i; j > 0 && members_[j].first < members_[j - 1].first; --j)
        std::swap(members_[j], members_[j - 1]);
  } else {
    std::stable_sort(members_.begin(), members_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  std::size_t size = 2;
  for (const auto& [key, value] : members_) size += key.size() + value.size() + 4;
  std::string out;
  out.reserve(size);
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i + 1 < members_.size() && members_[i + 1].first == members_[i].first) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, members_[i].first);
    out += ':';
    out += members_[i].second;
  }
  out += '}';
  members_.clear();
  return out;
}

}  // namespace kray::api
