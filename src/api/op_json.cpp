// JSON mapping of operations and receipts (see op_json.h).
#include "op_json.h"

#include <algorithm>
#include <cctype>

#include "json_writer.h"
#include "kray/api/auth_cookie.h"
#include "kray/api/rate_limiter.h"
#include "kray/core/bytes.h"
#include "kray/rollup/json.h"
#include "kray/state/core_module.h"

namespace kray::api {
namespace {

void AddTransferFields(Json& j, const state::Operation& op) {
  j["from"] = op.signer;
  j["to"] = op.Field("to").value_or("");
  j["asset"] = op.Field("asset").value_or("");
  j["amount"] = op.Field("amount").value_or("0");
  j["data"] = op.Field("data").value_or("");
  if (auto addr = op.Evidence("to_address")) j["to_address"] = *addr;
}

}  // namespace

std::string KrayString(Amount credits) {
  return FormatUnits(credits, 3);
}

Json OperationJson(const state::Operation& op, std::string_view status, std::optional<std::int64_t> batch) {
  Json j = Json::parse(rollup::OperationJson(op), nullptr, false);
  if (j.is_discarded()) j = Json::object();
  j["status"] = status;
  j["tx_type"] = op.type;
  j["created_at"] = op.timestamp;
  j["confirmed_at"] = status == "confirmed" ? Json(op.timestamp) : Json(nullptr);
  j["batch_id"] = batch ? Json(*batch) : Json(nullptr);
  if (op.type == state::kTransferOp) AddTransferFields(j, op);
  return j;
}

void WriteReceipt(JsonObjectWriter& w, const state::Receipt& r, std::string_view status) {
  const state::Operation& op = *r.op;
  JsonObjectWriter result;
  for (const auto& [k, v] : r.result) result.String(k, v);
  w.String("tx_hash", op.hash)
      .String("status", status)
      .Unsigned("seq", op.seq)
      .String("op", op.type)
      .String("auth", state::AuthName(op.auth))
      .String("gas_fee", AmountString(op.gas_fee))
      .Signed("confirmed_at", op.timestamp)
      .Raw("result", result.Finish());
  if (op.auth == state::Auth::kSigned) w.String("signer", op.signer).Unsigned("new_nonce", r.new_nonce);
  if (op.type == state::kTransferOp) {
    // The transfer fields of OperationJson, without the memo.
    w.String("from", op.signer)
        .String("to", op.Field("to").value_or(""))
        .String("asset", op.Field("asset").value_or(""))
        .String("amount", op.Field("amount").value_or("0"));
    if (auto addr = op.Evidence("to_address")) w.String("to_address", *addr);
  }
}

std::string ReceiptBody(const state::Receipt& r, std::string_view status) {
  JsonObjectWriter w;
  WriteReceipt(w, r, status);
  return w.Finish();
}

Json ReceiptJson(const state::Receipt& r) {
  return Json::parse(ReceiptBody(r));
}

HttpResponse ReceiptResponse(const Result<state::Receipt>& r) {
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonTextResponse(ReceiptBody(*r));
}

HttpResponse ReceiptOrUnchangedResponse(const Result<state::Receipt>& r) {
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonTextResponse(ReceiptBody(*r, r->no_change ? "unchanged" : "confirmed"));
}

state::ReceiptCallback AnswerLater(Reply reply, std::function<HttpResponse(const Result<state::Receipt>&)> format) {
  // Called once: the formatter moves into the deferred build.
  return [reply = std::move(reply), format = std::move(format)](Result<state::Receipt> r) mutable {
    reply(Later([format = std::move(format), r = std::move(r)] { return format(r); }));
  };
}

namespace {

// Over a tree (Json) or a flat body (FlatObject, FlatValue): one body of
// code, so both give the same request and the same errors.
template <class Value>
Result<std::string> FieldTextOf(const Value& value, std::string_view key) {
  if (value.is_string()) return std::string(StringOf(value));
  if (value.is_number_unsigned()) return std::to_string(UnsignedOf(value));
  if (value.is_number_integer()) {
    auto v = SignedOf(value);
    if (v < 0) return Error::Invalid("invalid_amount", "field '" + std::string(key) + "' must not be negative");
    return std::to_string(v);
  }
  if (value.is_number_float()) {
    return Error::Invalid("invalid_amount", "field '" + std::string(key) +
                                                "' must be an integer in base units (no fraction or exponent)");
  }
  return Error::Invalid("invalid_type", "field '" + std::string(key) + "' must be a string or an integer");
}

template <class Obj>
Result<state::OperationRequest> RequestFrom(const Obj& body, const state::OperationType& type,
                                            std::initializer_list<std::string_view> extra_ignored) {
  if (!body.is_object()) return Error::Invalid("invalid_type", "an operation must be a JSON object");
  state::OperationRequest req;
  req.type = std::string(type.name());
  req.auth = type.auth();
  const auto* signature = Member(body, "signature");
  const bool has_signature = signature && !signature->is_null();
  if (type.auth() == state::Auth::kPublic && type.may_be_signed() && has_signature) req.auth = state::Auth::kSigned;
  if (has_signature && req.auth != state::Auth::kSigned)
    return Error::Invalid(
        "wrong_authorisation",
        "operation '" + req.type + "' is " + std::string(state::AuthName(req.auth)) + ": send it without a signature");
  std::string_view signer_field = type.signer_field();
  bool signer_is_field = false;
  for (const auto& spec : type.fields())
    signer_is_field = signer_is_field || spec.name == signer_field || spec.request_name == signer_field;
  if (req.auth == state::Auth::kSigned) {
    auto signer = RequireString(body, signer_field);
    if (!signer.ok()) return std::move(signer).error();
    req.signer = std::move(*signer);
    auto sig = RequireString(body, "signature");
    if (!sig.ok()) return std::move(sig).error();
    req.signature_hex = std::move(*sig);
    const auto* nonce_value = Member(body, "nonce");
    if (type.consumes_nonce() || (nonce_value && !nonce_value->is_null())) {
      auto nonce = RequireU64(body, "nonce");
      if (!nonce.ok()) return std::move(nonce).error();
      req.nonce = *nonce;
    }
    auto scheme = OptionalString(body, "sig_scheme", "");
    if (!scheme.ok()) return std::move(scheme).error();
    req.sig_scheme = std::move(*scheme);
  }
  KRAY_TRY(ForEachMember(body, [&](std::string_view key, const auto& value) -> Status {
    if (key == "signature" || key == "nonce" || key == "sig_scheme") return Ok();
    if (key == signer_field && !signer_is_field) return Ok();
    bool ignored = false;
    for (auto e : extra_ignored) ignored = ignored || key == e;
    if (ignored || value.is_null()) return Ok();
    auto text = FieldTextOf(value, key);
    if (!text.ok()) return std::move(text).error();
    req.fields.emplace_back(std::string(key), std::move(*text));
    return Ok();
  }));
  return req;
}

}  // namespace

Result<std::string> FieldText(const Json& value, std::string_view key) {
  return FieldTextOf(value, key);
}

Result<state::OperationRequest> RequestFromBody(const Json& body, const state::OperationType& type,
                                                std::initializer_list<std::string_view> extra_ignored) {
  return RequestFrom(body, type, extra_ignored);
}

Result<state::OperationRequest> RequestFromBody(const FlatObject& body, const state::OperationType& type,
                                                std::initializer_list<std::string_view> extra_ignored) {
  return RequestFrom(body, type, extra_ignored);
}

Status CheckOperator(const HttpRequest& req, const ApiContext& ctx) {
  if (ctx.rpctoken.empty()) {
    return Error::Unavailable("operator_disabled", "operator endpoints are disabled: no operator token configured");
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = req.authorization;
  // The scheme name is case-insensitive (RFC 9110, 11.1); the token is not.
  auto is_bearer = [&] {
    if (auth.size() <= kBearer.size()) return false;
    for (std::size_t i = 0; i < kBearer.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(auth[i])) != std::tolower(static_cast<unsigned char>(kBearer[i])))
        return false;
    return true;
  };
  if (!is_bearer()) {
    return Error::Unauthorized("unauthorized",
                               "operator token required: Authorization: Bearer <rpctoken, or the token in "
                               "<datadir>/.cookie>");
  }
  // Constant time, independent of where the tokens differ and of their
  // lengths, so the token cannot be guessed byte by byte.
  if (!TokenMatches(auth.substr(kBearer.size()), ctx.rpctoken)) {
    return Error::Unauthorized("unauthorized", "invalid operator token");
  }
  return Ok();
}

HttpResponse RateLimitedResponse(int retry_after_seconds, std::string_view what) {
  HttpResponse r = ErrorResponse(
      Error{ErrorKind::kRateLimited, "rate_limited", std::string(what) + " rate limit exceeded, retry later"});
  std::erase_if(r.headers, [](const auto& h) { return h.first == "Retry-After"; });  // ErrorResponse's default
  r.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry_after_seconds)));
  return r;
}

std::optional<HttpResponse> ChargePublicOperation(const ApiContext& ctx, const HttpRequest& req, state::Auth auth) {
  if (auth != state::Auth::kPublic || !ctx.public_limiter) return std::nullopt;
  auto d = ctx.public_limiter->Allow(req.client_ip);
  if (d.allowed) return std::nullopt;
  return RateLimitedResponse(d.retry_after_seconds, "public operation (publicratelimit)");
}

}  // namespace kray::api
