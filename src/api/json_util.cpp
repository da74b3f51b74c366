// Typed field extraction from JSON request bodies, with the API's error codes.
#include "kray/api/json_util.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "flat_json.h"

namespace kray::api {

namespace {
std::string Quoted(std::string_view key) {
  return "'" + std::string(key) + "'";
}
}  // namespace

namespace {

// Builds the DOM like nlohmann's own SAX DOM parser, but fails on a key that
// the object being built already has. nlohmann silently keeps the last of
// duplicate keys while other JSON parsers keep the first, so a body such as
// {"amount":"1","amount":"1000000"} would mean different things to a proxy or
// wallet that checked it and to the node. Iterative (the SAX driver keeps its
// own stack, and so does this builder), so deep nesting cannot overflow the
// call stack.
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(Json& root) : root_(root) {}

  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool v) { return Add(Json(v)); }
  // Only literals with a '-' arrive here (others are unsigned). "-0" becomes
  // the float -0.0: as the integer 0 it would pass for a canonical "0" in
  // integer fields (amounts, nonces), which accept canonical decimals only.
  bool number_integer(Json::number_integer_t v) { return Add(v == 0 ? Json(-0.0) : Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Add(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Add(Json(v)); }
  bool string(Json::string_t& v) { return Add(Json(std::move(v))); }
  bool binary(Json::binary_t& v) { return Add(Json(std::move(v))); }  // not produced by JSON text

  bool start_object(std::size_t) { return Open(Json::object()); }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& k) {
    Json& object = *stack_.back();
    if (object.contains(k)) {
      duplicate_key_ = k;
      return false;  // stops the parse
    }
    pending_ = &object[k];
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  // Set when the parse stopped on a duplicate key.
  const std::optional<std::string>& duplicate_key() const { return duplicate_key_; }

 private:
  // Places a value: the root, the slot named by the last key, or the end of
  // the enclosing array. Returns where it went.
  Json* Place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(v));
      return &stack_.back()->back();
    }
    *pending_ = std::move(v);
    return pending_;
  }
  bool Add(Json&& v) {
    Place(std::move(v));
    return true;
  }
  bool Open(Json&& container) {
    stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  std::vector<Json*> stack_;  // open containers, innermost last
  Json* pending_ = nullptr;   // the member slot of the last key
  std::optional<std::string> duplicate_key_;
};

}  // namespace

Result<Json> ParseJsonObject(std::string_view body) {
  // nlohmann's lexer takes a NUL byte for the end of the text, so
  // {"amount":"1"}<NUL>{"amount":"9"} parsed as the first object. A raw NUL
  // is valid nowhere in JSON (in a string it must be escaped).
  if (body.find('\0') != std::string_view::npos)
    return Error::Invalid("invalid_json", "request body is not valid JSON");
  Json j;
  StrictDomBuilder builder(j);
  // strict=true: trailing characters after the value are an error.
  bool ok = Json::sax_parse(body.begin(), body.end(), &builder, Json::input_format_t::json, /*strict=*/true);
  if (builder.duplicate_key()) {
    // Echo at most 64 bytes of the key; ErrorResponse's dump() replaces a
    // UTF-8 sequence cut in half.
    return Error::Invalid("invalid_json",
                          "request body has a duplicate key '" + builder.duplicate_key()->substr(0, 64) + "'");
  }
  if (!ok) return Error::Invalid("invalid_json", "request body is not valid JSON");
  if (!j.is_object()) return Error::Invalid("invalid_json", "request body must be a JSON object");
  return j;
}

namespace {

// The helpers below over a tree (Json) or a flat body (FlatObject): one body
// of code, so both give the same values and errors.
template <class Obj>
Result<std::string> RequireStringIn(const Obj& obj, std::string_view key) {
  const auto* v = Member(obj, key);
  if (!v || v->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  if (!v->is_string()) return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a string");
  return std::string(StringOf(*v));
}

template <class Obj>
Result<std::string> OptionalStringIn(const Obj& obj, std::string_view key, std::string_view fallback) {
  const auto* v = Member(obj, key);
  if (!v || v->is_null()) return std::string(fallback);
  if (!v->is_string()) return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a string");
  return std::string(StringOf(*v));
}

template <class Value>
Result<Amount> AmountOf(const Value& v, std::string_view key) {
  if (v.is_string()) {
    auto r = ParseAmount(StringOf(v));
    if (!r.ok()) {
      return Error::Invalid("invalid_amount", "field " + Quoted(key) +
                                                  " must be a non-negative integer <= 9223372036854775807 "
                                                  "(decimal string or JSON integer): " +
                                                  r.error().message);
    }
    return *r;
  }
  if (v.is_number_unsigned()) {
    auto u = UnsignedOf(v);
    if (u > kMaxAmount) return Error::Invalid("invalid_amount", "field " + Quoted(key) + " exceeds 2^63-1");
    return static_cast<Amount>(u);
  }
  if (v.is_number_integer()) {  // signed and not unsigned: negative
    auto i = SignedOf(v);
    if (i < 0) return Error::Invalid("invalid_amount", "field " + Quoted(key) + " must not be negative");
    return static_cast<Amount>(i);
  }
  if (v.is_number_float() && FloatOf(v) == 0 && std::signbit(FloatOf(v))) {
    // The literal -0 (ParseJsonObject keeps it as -0.0): not the canonical 0.
    return Error::Invalid("invalid_amount", "field " + Quoted(key) + " must not be negative (-0)");
  }
  if (v.is_number_float()) {
    return Error::Invalid("invalid_amount",
                          "field " + Quoted(key) + " must be an integer in base units (no fraction or exponent)");
  }
  return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a decimal string or a JSON integer");
}

template <class Obj>
Result<std::uint64_t> RequireU64In(const Obj& obj, std::string_view key) {
  const auto* v = Member(obj, key);
  if (!v || v->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  auto r = AmountOf(*v, key);
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.code == "invalid_amount") e.code = "invalid_field";
    return e;
  }
  return *r;
}

}  // namespace

Result<std::string> RequireString(const Json& obj, std::string_view key) {
  return RequireStringIn(obj, key);
}
Result<std::string> RequireString(const FlatObject& obj, std::string_view key) {
  return RequireStringIn(obj, key);
}

Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string_view fallback) {
  return OptionalStringIn(obj, key, fallback);
}
Result<std::string> OptionalString(const FlatObject& obj, std::string_view key, std::string_view fallback) {
  return OptionalStringIn(obj, key, fallback);
}

Result<Amount> ParseAmountValue(const Json& v, std::string_view key) {
  return AmountOf(v, key);
}

Result<Amount> RequireAmount(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  return ParseAmountValue(*it, key);
}

Result<std::uint64_t> RequireU64(const Json& obj, std::string_view key) {
  return RequireU64In(obj, key);
}
Result<std::uint64_t> RequireU64(const FlatObject& obj, std::string_view key) {
  return RequireU64In(obj, key);
}

Result<int> QueryInt(const HttpRequest& req, std::string_view key, int fallback, int min, int max) {
  auto v = req.Query(key);
  if (!v || v->empty()) return fallback;
  int out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < min || out > max) {
    return Error::Invalid("invalid_field", "query parameter " + Quoted(key) + " must be an integer in [" +
                                               std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return out;
}

Result<std::uint64_t> QueryU64(const HttpRequest& req, std::string_view key) {
  auto v = req.Query(key);
  if (!v || v->empty()) return std::uint64_t{0};
  auto a = ParseAmount(*v);
  if (!a.ok() || std::to_string(*a) != *v)
    return Error::Invalid("invalid_field", "query parameter " + Quoted(key) + " must be a non-negative integer");
  return static_cast<std::uint64_t>(*a);
}

HttpResponse Later(std::function<HttpResponse()> build) {
  HttpResponse r;
  r.build = std::move(build);
  return r;
}

HttpResponse Built(HttpResponse r) {
  if (!r.build) return r;
  try {
    return Built(r.build());
  } catch (const std::exception& e) {
    return ErrorResponse(Error::Internal(std::string("building a response threw: ") + e.what()));
  } catch (...) {
    return ErrorResponse(Error::Internal("building a response threw"));
  }
}

HttpResponse ErrorResponse(const Error& error) {
  HttpResponse r;
  r.status = HttpStatusFor(error.kind);
  if (error.kind == ErrorKind::kInternal) spdlog::error("internal error [{}]: {}", error.code, error.message);
  Json j = {{"error", error.message}, {"code", error.code.empty() ? std::string("internal_error") : error.code}};
  if (!error.details.empty()) {
    Json details = Json::object();
    for (const auto& [key, value] : error.details) details[key] = value;
    j["details"] = std::move(details);
  }
  // error_handler_t::replace: a message echoing invalid UTF-8 from the request
  // must not make dump() throw.
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (error.kind == ErrorKind::kRateLimited) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse JsonResponse(const Json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpResponse JsonTextResponse(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string AmountString(Amount a) {
  return std::to_string(a);
}

}  // namespace kray::api
