// JSON helpers for handlers: parsing request bodies into typed fields with
// the API's error codes, and building error responses. Included only by
// src/api and its tests (it pulls in nlohmann/json).
//
// Error codes produced here (all 400 unless noted):
//   invalid_json   body is not valid JSON, not a JSON object, or has a duplicate key
//   missing_field  a required field is absent or null (message names it)
//   invalid_type   a field has the wrong JSON type (message names it)
//   invalid_amount negative, fractional, exponent, empty or > 2^63-1 amount
//   invalid_field  a field has the right type but an invalid value
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kray/api/http.h"
#include "kray/core/amount.h"
#include "kray/core/result.h"

namespace kray::api {

using Json = nlohmann::json;

// Parses a request body that must be a JSON object (RFC 8259, UTF-8, nothing
// but whitespace after the value). Error "invalid_json" (400) if the body is
// not valid JSON, is not an object, or has an object anywhere in it with the
// same key twice (nlohmann would silently keep the last one). Never throws;
// nesting depth is bounded only by the body size (no recursion). Thread-safe.
Result<Json> ParseJsonObject(std::string_view body);

// Required string field. Wrong type -> invalid_type; absent/null -> missing_field.
Result<std::string> RequireString(const Json& obj, std::string_view key);
// Optional string field: `fallback` when absent or null.
Result<std::string> OptionalString(const Json& obj, std::string_view key, std::string_view fallback);

// Amount from a canonical decimal string or a JSON integer (kray::ParseAmount
// rules): rejects negatives (also "-0"), floats, exponents, leading zeros,
// empty strings and values > 2^63-1 with "invalid_amount".
Result<Amount> ParseAmountValue(const Json& value, std::string_view key);
Result<Amount> RequireAmount(const Json& obj, std::string_view key);

// Unsigned 64-bit integer (e.g. a nonce) from a JSON integer or a decimal
// string; same rules as amounts.
Result<std::uint64_t> RequireU64(const Json& obj, std::string_view key);

// Query parameter as a bounded int: absent -> fallback; non-numeric or out of
// [min, max] -> 400 invalid_field naming `key`.
Result<int> QueryInt(const HttpRequest& req, std::string_view key, int fallback, int min, int max);
// Query parameter as a canonical decimal u64 (a cursor); absent -> 0.
Result<std::uint64_t> QueryU64(const HttpRequest& req, std::string_view key);

// {"error": message, "code": code} with HttpStatusFor(kind). Internal errors
// are logged here.
HttpResponse ErrorResponse(const Error& error);
// A JSON response with `status`.
HttpResponse JsonResponse(const Json& body, int status = 200);
// The same for a body already written as JSON text.
HttpResponse JsonTextResponse(std::string body, int status = 200);

// A response built later, on the connection's thread (HttpResponse::build).
// Ledger callbacks run on the sequencer thread, whose time every writer
// shares: they hand the receipt over and the connection formats it.
HttpResponse Later(std::function<HttpResponse()> build);
// The response to write: runs `r.build` if set. A build that throws is a
// bug, logged, and answered 500 internal_error.
HttpResponse Built(HttpResponse r);

// Decimal string of an amount (responses always give amounts as strings).
std::string AmountString(Amount a);

}  // namespace kray::api
