// The documented-response patterns of docs/API.md's executable examples
// (docs/API.md, "Executable examples"): JSON, plus the ellipsis "…" (U+2026)
// where the documentation leaves something out:
//
//   {"a":1, …}          an object member "…": more members may follow
//   [{"x":1}, …]        an array element "…": any number of elements (0+)
//   "bcrt1p5mlu…kghfj"  inside a string: any characters (a glob)
//   "from":…            as a member's value: any value
//
// Keys listed as volatile (timestamps and what is derived from them) are
// compared by JSON type only. Everything else must be equal.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kray::test {

struct DocPattern {
  enum class Kind { kObject, kArray, kString, kLiteral, kAny, kMore };
  Kind kind = Kind::kLiteral;
  nlohmann::json literal;                                   // numbers, true, false, null
  std::string text;                                         // kString (may hold "…")
  std::vector<std::pair<std::string, DocPattern>> members;  // kObject ("…" members as kMore)
  std::vector<DocPattern> elements;                         // kArray
};

// Parses a documented response. Returns nullopt and sets *error for text
// that is not JSON-with-ellipses.
std::optional<DocPattern> ParseDocPattern(const std::string& text, std::string* error);

// Empty if `actual` matches `pattern`, else where and how it differs.
std::string MatchDocPattern(const DocPattern& pattern, const nlohmann::json& actual,
                            const std::set<std::string>& volatile_keys);

// A string glob: "…" matches any run of characters.
bool GlobMatches(const std::string& pattern, const std::string& text);

}  // namespace kray::test
