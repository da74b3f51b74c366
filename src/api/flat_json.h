// Internal: request bodies read without nlohmann's tree, where they are flat.
//
// Why: a signed transfer's body is one object of strings and integers, and
// ParseJsonObject's tree cost ~30 allocations of the ~185 krayd made per
// transfer and ~27,000 instructions, most of them nlohmann's lexer, which
// copies the body into two buffers a character at a time (docs/BENCHMARKS.md,
// sixty-sixth round). simdjson's On Demand parser reads the same body into
// views of its own buffers, with no allocation once its buffers have grown,
// ~5 times faster (bench/request_body_bench). (Its walk over the tokens is
// compiled in, for any x86-64 CPU; its first pass, which finds the tokens
// and checks UTF-8, and its string copies use the best kernel this CPU runs,
// chosen at start.)
//
// Only the shapes below are read here, and only bodies that need none of the
// rules where JSON parsers differ: a body with a backslash (an escape), a
// control character in a string, a nested value, a bool, a negative or
// fractional number, a repeated key, more than 64 members in an object, or
// invalid JSON is declined, and the caller parses it with ParseJsonObject, whose answer (a value or the exact
// error) is then the only one. Both parsers check UTF-8 in full. So a body
// means the same on both paths: tests/unit/api/flat_json_test.cpp compares
// them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/result.h"

namespace kray::api {

// One member's value: a string (as written: it has no escapes), a JSON
// integer >= 0 (nlohmann's number_unsigned) or null. The accessors mirror nlohmann's for the helpers
// templated over both (json_util.cpp, op_json.cpp).
struct FlatValue {
  enum class Kind : std::uint8_t { kNull, kString, kUnsigned };
  Kind kind = Kind::kNull;
  std::string_view text;     // kString
  std::uint64_t number = 0;  // kUnsigned

  bool is_null() const { return kind == Kind::kNull; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number_unsigned() const { return kind == Kind::kUnsigned; }
  bool is_number_integer() const { return kind == Kind::kUnsigned; }  // as nlohmann: unsigned is an integer
  bool is_number_float() const { return false; }
};

struct FlatMember {
  std::string_view key;
  FlatValue value;
};

// A view of one object's members, sorted by key in std::string's order (the
// order nlohmann's std::map gives its members), keys unique.
class FlatObject {
 public:
  FlatObject() = default;
  explicit FlatObject(std::span<const FlatMember> members) : members_(members) {}
  const FlatValue* Find(std::string_view key) const;
  std::span<const FlatMember> members() const { return members_; }
  bool is_object() const { return true; }  // as nlohmann's, for code templated over both

 private:
  std::span<const FlatMember> members_;
};

// Owns what its FlatObjects view, until it parses again: keep it alive while
// they are used. Not copyable (the views point into it). Its buffers grow to
// the largest body it parsed and are kept for the next one.
class FlatBody {
 public:
  FlatBody();
  ~FlatBody();
  FlatBody(const FlatBody&) = delete;
  FlatBody& operator=(const FlatBody&) = delete;

  // True if `body` is valid JSON and one flat object; object() then views it.
  bool ParseObject(std::string_view body);
  // True if `body` is valid JSON and an object whose only member is
  // `array_key`, a non-empty array of flat objects; items() then views them.
  bool ParseArrayOf(std::string_view body, std::string_view array_key);

  FlatObject object() const { return items_.empty() ? FlatObject() : items_.front(); }
  const std::vector<FlatObject>& items() const { return items_; }

 private:
  struct Parser;  // simdjson's, and the body copied with its padding
  bool Parse(std::string_view body, std::string_view array_key);

  std::unique_ptr<Parser> parser_;
  std::vector<FlatMember> members_;  // every object's, one after another; views into parser_
  std::vector<std::size_t> starts_;  // where each object's members begin
  std::vector<FlatObject> items_;
};

// The typed-field helpers of json_util.h over a flat object: the same code
// (templates in json_util.cpp), so the same values and errors.
Result<std::string> RequireString(const FlatObject& obj, std::string_view key);
Result<std::string> OptionalString(const FlatObject& obj, std::string_view key, std::string_view fallback);
Result<std::uint64_t> RequireU64(const FlatObject& obj, std::string_view key);

// What code templated over both bodies reads through.
inline const nlohmann::json* Member(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
inline const FlatValue* Member(const FlatObject& obj, std::string_view key) {
  return obj.Find(key);
}
inline std::string_view StringOf(const nlohmann::json& v) {
  return v.get_ref<const std::string&>();
}
inline std::string_view StringOf(const FlatValue& v) {
  return v.text;
}
inline std::uint64_t UnsignedOf(const nlohmann::json& v) {
  return v.get<std::uint64_t>();
}
inline std::uint64_t UnsignedOf(const FlatValue& v) {
  return v.number;
}
inline std::int64_t SignedOf(const nlohmann::json& v) {
  return v.get<std::int64_t>();
}
inline std::int64_t SignedOf(const FlatValue& v) {
  return static_cast<std::int64_t>(v.number);  // unreached: is_number_unsigned() is checked first
}
inline double FloatOf(const nlohmann::json& v) {
  return v.get<double>();
}
inline double FloatOf(const FlatValue&) {
  return 0;  // unreached: is_number_float() is false
}
// Calls fn(key, value) for each member in key order until one fails.
template <class Fn>
Status ForEachMember(const nlohmann::json& obj, Fn&& fn) {
  for (const auto& [key, value] : obj.items()) KRAY_TRY(fn(std::string_view(key), value));
  return Ok();
}
template <class Fn>
Status ForEachMember(const FlatObject& obj, Fn&& fn) {
  for (const auto& m : obj.members()) KRAY_TRY(fn(m.key, m.value));
  return Ok();
}

}  // namespace kray::api
