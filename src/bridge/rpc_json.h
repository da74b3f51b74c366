// JSON for the RPC client (src-only: nlohmann stays out of public headers).
// ParseExactJson builds an nlohmann DOM in which every number with a fraction
// or exponent is kept as a JSON string holding its exact text, so a Bitcoin
// amount such as 0.12345678 is converted to satoshis from "0.12345678" and
// never through a double. Integers stay integers.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kray::bridge::internal {

using Json = nlohmann::json;

// Bounds on what a reply may contain before it is rejected as malformed.
inline constexpr std::size_t kMaxJsonDepth = 64;

class ExactDomBuilder : public nlohmann::json_sax<Json> {
 public:
  explicit ExactDomBuilder(Json& root) : root_(root) {}

  bool null() override { return Add(Json(nullptr)); }
  bool boolean(bool v) override { return Add(Json(v)); }
  bool number_integer(number_integer_t v) override { return Add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Add(Json(v)); }
  bool number_float(number_float_t, const string_t& text) override { return Add(Json(text)); }
  bool string(string_t& v) override { return Add(Json(std::move(v))); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(Json::object()); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Json::array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  // Inserts `v` into the current container (or as the root); returns where it went.
  Json* Place(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    Json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Add(Json v) {
    Place(std::move(v));
    return true;
  }
  bool Open(Json v) {
    if (stack_.size() >= kMaxJsonDepth) return false;
    stack_.push_back(Place(std::move(v)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  std::vector<Json*> stack_;
  std::string key_;
};

// nullopt if `text` is not one complete JSON value (or nests too deeply).
inline std::optional<Json> ParseExactJson(std::string_view text) {
  Json root;
  ExactDomBuilder builder(root);
  if (!Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, true)) {
    return std::nullopt;
  }
  return root;
}

}  // namespace kray::bridge::internal
