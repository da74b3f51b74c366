// Flat request bodies read with simdjson's On Demand parser (see flat_json.h).
#include "flat_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

namespace kray::api {

namespace od = simdjson::ondemand;

struct FlatBody::Parser {
  od::parser parser;
  std::string padded;  // the body, then SIMDJSON_PADDING bytes simdjson may read past its end
};

namespace {

// Objects with more members go to the tree (the repeat check here is linear).
constexpr std::size_t kMaxFlatMembers = 64;

// A raw control character is invalid JSON (only escaped ones are allowed).
// simdjson 3.0.1 refuses them itself; checked here too, so the rule the two
// paths share does not rest on one version's behaviour. With no escapes in
// the body, any byte below 0x20 in a string was written raw.
bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// A member's value, or false for anything but a string, an integer >= 0 or null.
bool ReadValue(od::value v, FlatValue& out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s) || HasControlCharacter(s)) return false;
      out = FlatValue{FlatValue::Kind::kString, s, 0};
      return true;
    }
    case od::json_type::number: {
      // Negative numbers go to the tree, which keeps "-0" apart (-0.0).
      // get_uint64 refuses a '-' as well; checked here for the same reason.
      const std::string_view raw = v.raw_json_token();
      std::uint64_t n = 0;
      if (raw.empty() || raw.front() == '-' || v.get_uint64().get(n)) return false;
      out = FlatValue{FlatValue::Kind::kUnsigned, {}, n};
      return true;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) return false;
      out = FlatValue{};
      return true;
    }
    default:
      return false;  // objects, arrays, bools
  }
}

// Appends `object`'s members to `members`.
bool ReadObject(od::object object, std::vector<FlatMember>& members) {
  const std::size_t first = members.size();
  for (auto field : object) {
    od::field f;
    std::string_view key;
    if (std::move(field).get(f) || f.unescaped_key().get(key) || HasControlCharacter(key)) return false;
    if (members.size() - first >= kMaxFlatMembers) return false;
    // A repeated key: ParseJsonObject names it in its error.
    for (std::size_t i = first; i < members.size(); ++i)
      if (members[i].key == key) return false;
    FlatValue value;
    if (!ReadValue(f.value(), value)) return false;
    members.push_back(FlatMember{key, value});
  }
  return true;
}

}  // namespace

FlatBody::FlatBody() : parser_(std::make_unique<Parser>()) {}
FlatBody::~FlatBody() = default;

const FlatValue* FlatObject::Find(std::string_view key) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const FlatMember& m, std::string_view k) { return m.key < k; });
  return it != members_.end() && it->key == key ? &it->value : nullptr;
}

bool FlatBody::ParseObject(std::string_view body) {
  return Parse(body, {});
}

bool FlatBody::ParseArrayOf(std::string_view body, std::string_view array_key) {
  return !array_key.empty() && Parse(body, array_key);
}

bool FlatBody::Parse(std::string_view body, std::string_view array_key) {
  members_.clear();
  starts_.clear();
  items_.clear();
  // Escapes are left to the tree: JSON parsers differ on lone surrogates.
  if (body.find('\\') != std::string_view::npos) return false;
  std::string& padded = parser_->padded;
  padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);  // one growth, to the size needed
  padded.assign(body);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  od::document doc;
  if (parser_->parser.iterate(padded.data(), body.size(), padded.size()).get(doc)) return false;
  od::object root;
  if (doc.get_object().get(root)) return false;
  if (array_key.empty()) {
    starts_.push_back(0);
    if (!ReadObject(root, members_)) return false;
  } else {
    std::size_t fields = 0;
    for (auto field : root) {
      od::field f;
      std::string_view key;
      od::array array;
      if (std::move(field).get(f) || ++fields > 1 || f.unescaped_key().get(key) || key != array_key ||
          f.value().get_array().get(array))
        return false;
      for (auto item : array) {
        od::object object;
        if (std::move(item).get_object().get(object)) return false;
        starts_.push_back(members_.size());
        if (!ReadObject(object, members_)) return false;
      }
    }
    if (starts_.empty()) return false;  // no array, or an empty one: the tree says which
  }
  // Nothing may follow the root object ("{}{}" is not one JSON text).
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return false;
  // Members in the order nlohmann's std::map<std::string, …> iterates them.
  items_.reserve(starts_.size());
  for (std::size_t i = 0; i < starts_.size(); ++i) {
    const std::size_t end = i + 1 < starts_.size() ? starts_[i + 1] : members_.size();
    auto first = members_.begin() + static_cast<std::ptrdiff_t>(starts_[i]);
    auto last = members_.begin() + static_cast<std::ptrdiff_t>(end);
    std::sort(first, last, [](const FlatMember& a, const FlatMember& b) { return a.key < b.key; });
    items_.emplace_back(std::span<const FlatMember>(members_.data() + starts_[i], end - starts_[i]));
  }
  return true;
}

}  // namespace kray::api
