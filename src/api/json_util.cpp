// Typed field extraction from JSON request bodies, with the API's error codes.
#include "kray/api/json_util.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <limits>

namespace kray::api {

namespace {
std::string Quoted(std::string_view key) {
  return "'" + std::string(key) + "'";
}
}  // namespace

Result<Json> ParseJsonObject(std::string_view body) {
  // allow_exceptions=false: a parse error yields a "discarded" value instead of
  // throwing; the SAX-based parser keeps its own stack, so deep nesting cannot
  // overflow ours.
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return Error::Invalid("invalid_json", "request body is not valid JSON");
  if (!j.is_object()) return Error::Invalid("invalid_json", "request body must be a JSON object");
  return j;
}

Result<std::string> RequireString(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  if (!it->is_string()) return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a string");
  return it->get<std::string>();
}

Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string_view fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string(fallback);
  if (!it->is_string()) return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a string");
  return it->get<std::string>();
}

Result<Amount> ParseAmountValue(const Json& v, std::string_view key) {
  if (v.is_string()) {
    auto r = ParseAmount(v.get_ref<const std::string&>());
    if (!r.ok()) {
      return Error::Invalid("invalid_amount", "field " + Quoted(key) +
                                                  " must be a non-negative integer <= 9223372036854775807 "
                                                  "(decimal string or JSON integer): " +
                                                  r.error().message);
    }
    return *r;
  }
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > kMaxAmount) return Error::Invalid("invalid_amount", "field " + Quoted(key) + " exceeds 2^63-1");
    return static_cast<Amount>(u);
  }
  if (v.is_number_integer()) {  // signed and not unsigned: negative
    auto i = v.get<std::int64_t>();
    if (i < 0) return Error::Invalid("invalid_amount", "field " + Quoted(key) + " must not be negative");
    return static_cast<Amount>(i);
  }
  if (v.is_number_float()) {
    return Error::Invalid("invalid_amount",
                          "field " + Quoted(key) + " must be an integer in base units (no fraction or exponent)");
  }
  return Error::Invalid("invalid_type", "field " + Quoted(key) + " must be a decimal string or a JSON integer");
}

Result<Amount> RequireAmount(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  return ParseAmountValue(*it, key);
}

Result<std::uint64_t> RequireU64(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Error::Invalid("missing_field", "missing field " + Quoted(key));
  auto r = ParseAmountValue(*it, key);
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.code == "invalid_amount") e.code = "invalid_field";
    return e;
  }
  return *r;
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

HttpResponse ErrorResponse(const Error& error) {
  HttpResponse r;
  r.status = HttpStatusFor(error.kind);
  if (error.kind == ErrorKind::kInternal) spdlog::error("internal error [{}]: {}", error.code, error.message);
  Json j = {{"error", error.message}, {"code", error.code.empty() ? std::string("internal_error") : error.code}};
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

std::string AmountString(Amount a) {
  return std::to_string(a);
}

}  // namespace kray::api
