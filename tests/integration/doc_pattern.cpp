// Parser and matcher of documented-response patterns (doc_pattern.h).
#include "doc_pattern.h"

#include <cctype>

namespace kray::test {
namespace {

using nlohmann::json;

constexpr const char* kEllipsis = "\xE2\x80\xA6";  // "…" in UTF-8
constexpr std::size_t kEllipsisLen = 3;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  std::optional<DocPattern> Document(std::string* error) {
    auto v = Value(/*in_member=*/false);
    Skip();
    if (v && pos_ != s_.size()) Fail("trailing text");
    if (!error_.empty()) {
      *error = error_ + " at offset " + std::to_string(pos_) + ": " + s_.substr(pos_, 40);
      return std::nullopt;
    }
    return v;
  }

 private:
  void Fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool AtEllipsis() const { return s_.compare(pos_, kEllipsisLen, kEllipsis) == 0; }
  bool Eat(char c) {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<DocPattern> Value(bool in_member) {
    Skip();
    if (pos_ >= s_.size()) return Fail("unexpected end"), std::nullopt;
    DocPattern p;
    if (AtEllipsis()) {
      pos_ += kEllipsisLen;
      p.kind = in_member ? DocPattern::Kind::kAny : DocPattern::Kind::kMore;
      return p;
    }
    char c = s_[pos_];
    if (c == '{') return Object();
    if (c == '[') return Array();
    if (c == '"') {
      auto str = String();
      if (!str) return std::nullopt;
      p.kind = DocPattern::Kind::kString;
      p.text = *str;
      return p;
    }
    return Literal();
  }

  std::optional<DocPattern> Object() {
    DocPattern p;
    p.kind = DocPattern::Kind::kObject;
    ++pos_;
    if (Eat('}')) return p;
    while (error_.empty()) {
      Skip();
      if (AtEllipsis()) {
        pos_ += kEllipsisLen;
        DocPattern more;
        more.kind = DocPattern::Kind::kMore;
        p.members.emplace_back("", more);
      } else {
        auto key = String();
        if (!key) return std::nullopt;
        if (!Eat(':')) return Fail("expected ':'"), std::nullopt;
        auto v = Value(/*in_member=*/true);
        if (!v) return std::nullopt;
        p.members.emplace_back(*key, std::move(*v));
      }
      if (Eat('}')) return p;
      if (!Eat(',')) Skip();  // "… }" and "{… "a":1}" need no comma after the ellipsis
      if (Eat('}')) return p;
    }
    return std::nullopt;
  }

  std::optional<DocPattern> Array() {
    DocPattern p;
    p.kind = DocPattern::Kind::kArray;
    ++pos_;
    if (Eat(']')) return p;
    while (error_.empty()) {
      auto v = Value(/*in_member=*/false);
      if (!v) return std::nullopt;
      p.elements.push_back(std::move(*v));
      if (Eat(']')) return p;
      if (!Eat(',')) return Fail("expected ',' or ']'"), std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<std::string> String() {
    Skip();
    if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a string"), std::nullopt;
    std::size_t start = pos_++;
    while (pos_ < s_.size() && s_[pos_] != '"') pos_ += s_[pos_] == '\\' ? 2 : 1;
    if (pos_ >= s_.size()) return Fail("unterminated string"), std::nullopt;
    ++pos_;
    json j = json::parse(s_.substr(start, pos_ - start), nullptr, false);
    if (!j.is_string()) return Fail("bad string"), std::nullopt;
    return j.get<std::string>();
  }

  std::optional<DocPattern> Literal() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' ||
                                s_[pos_] == '+' || s_[pos_] == '.'))
      ++pos_;
    json j = json::parse(s_.substr(start, pos_ - start), nullptr, false);
    if (j.is_discarded() || j.is_structured() || j.is_string()) {
      pos_ = start;
      return Fail("expected a value"), std::nullopt;
    }
    DocPattern p;
    p.kind = DocPattern::Kind::kLiteral;
    p.literal = j;
    return p;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
  std::string error_;
};

std::string Show(const json& j) {
  std::string s = j.dump();
  return s.size() > 200 ? s.substr(0, 200) + "…" : s;
}

bool SameType(const DocPattern& p, const json& actual) {
  switch (p.kind) {
    case DocPattern::Kind::kString:
      return actual.is_string();
    case DocPattern::Kind::kObject:
      return actual.is_object();
    case DocPattern::Kind::kArray:
      return actual.is_array();
    case DocPattern::Kind::kLiteral:
      if (p.literal.is_number()) return actual.is_number();
      if (p.literal.is_boolean()) return actual.is_boolean();
      return true;  // a documented null stands for "absent yet" (batch_id, closed_at)
    default:
      return true;
  }
}

std::string Match(const DocPattern& p, const json& actual, const std::set<std::string>& vol, const std::string& path);

// Elements matched in order; a kMore element absorbs any run (backtracking;
// documented arrays are short).
bool MatchSequence(const std::vector<DocPattern>& ps, std::size_t i, const json& actual, std::size_t j,
                   const std::set<std::string>& vol, const std::string& path) {
  if (i == ps.size()) return j == actual.size();
  if (ps[i].kind == DocPattern::Kind::kMore) {
    for (std::size_t k = j; k <= actual.size(); ++k)
      if (MatchSequence(ps, i + 1, actual, k, vol, path)) return true;
    return false;
  }
  if (j == actual.size()) return false;
  if (!Match(ps[i], actual[j], vol, path).empty()) return false;
  return MatchSequence(ps, i + 1, actual, j + 1, vol, path);
}

std::string MatchObject(const DocPattern& p, const json& actual, const std::set<std::string>& vol,
                        const std::string& path) {
  if (!actual.is_object()) return path + ": expected an object, got " + Show(actual);
  bool more = false;
  std::set<std::string> documented;
  for (const auto& [key, value] : p.members) {
    if (value.kind == DocPattern::Kind::kMore && key.empty()) {
      more = true;
      continue;
    }
    documented.insert(key);
    std::string where = path + "." + key;
    if (!actual.contains(key)) return where + ": missing in the response";
    if (vol.count(key)) {
      if (!SameType(value, actual[key])) return where + ": volatile, but of another type: " + Show(actual[key]);
      continue;
    }
    std::string m = Match(value, actual[key], vol, where);
    if (!m.empty()) return m;
  }
  if (!more) {
    for (const auto& [key, value] : actual.items())
      if (!documented.count(key)) return path + "." + key + ": in the response but not documented (add it, or …)";
  }
  return "";
}

std::string Match(const DocPattern& p, const json& actual, const std::set<std::string>& vol, const std::string& path) {
  switch (p.kind) {
    case DocPattern::Kind::kAny:
    case DocPattern::Kind::kMore:
      return "";
    case DocPattern::Kind::kLiteral:
      if (p.literal == actual) return "";
      return path + ": documented " + p.literal.dump() + ", got " + Show(actual);
    case DocPattern::Kind::kString:
      if (actual.is_string() && GlobMatches(p.text, actual.get<std::string>())) return "";
      return path + ": documented \"" + p.text + "\", got " + Show(actual);
    case DocPattern::Kind::kArray:
      if (!actual.is_array()) return path + ": expected an array, got " + Show(actual);
      if (MatchSequence(p.elements, 0, actual, 0, vol, path)) return "";
      // Say which element differs when the lengths agree and nothing is elided.
      if (p.elements.size() == actual.size()) {
        for (std::size_t i = 0; i < actual.size(); ++i) {
          std::string m = Match(p.elements[i], actual[i], vol, path + "[" + std::to_string(i) + "]");
          if (!m.empty()) return m;
        }
      }
      return path + ": the array differs: " + Show(actual);
    case DocPattern::Kind::kObject:
      return MatchObject(p, actual, vol, path);
  }
  return path + ": unknown pattern";
}

}  // namespace

std::optional<DocPattern> ParseDocPattern(const std::string& text, std::string* error) {
  return Parser(text).Document(error);
}

std::string MatchDocPattern(const DocPattern& pattern, const nlohmann::json& actual,
                            const std::set<std::string>& volatile_keys) {
  return Match(pattern, actual, volatile_keys, "$");
}

bool GlobMatches(const std::string& pattern, const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  for (std::size_t at = pattern.find(kEllipsis); at != std::string::npos; at = pattern.find(kEllipsis, start)) {
    pieces.push_back(pattern.substr(start, at - start));
    start = at + kEllipsisLen;
  }
  pieces.push_back(pattern.substr(start));
  if (pieces.size() == 1) return pattern == text;
  const std::string& first = pieces.front();
  const std::string& last = pieces.back();
  if (text.size() < first.size() + last.size()) return false;
  if (text.compare(0, first.size(), first) != 0) return false;
  if (text.compare(text.size() - last.size(), last.size(), last) != 0) return false;
  std::size_t pos = first.size();
  const std::size_t end = text.size() - last.size();
  for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
    std::size_t at = text.find(pieces[i], pos);
    if (at == std::string::npos || at + pieces[i].size() > end) return false;
    pos = at + pieces[i].size();
  }
  return true;
}

}  // namespace kray::test
