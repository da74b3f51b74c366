// Private to src/api: the two steps every module endpoint repeats — submit
// a request body as one operation of a module (the one signing rule,
// RequestFromBody), and run a read on a pooled connection to the state store
// and reply with its JSON.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/api/handlers.h"
#include "kray/state/ledger.h"
#include "op_json.h"

namespace kray::api {

// Builds `op_name` from `body` (plus `extra` fields, e.g. one taken from the
// path) and submits it; replies with the receipt ("status": "unchanged" for
// an idempotent repeat) or the error. Operator types need the operator token;
// public types take a token of ctx.public_limiter (ChargePublicOperation).
inline void SubmitBodyAs(const ApiContext& ctx, const HttpRequest& req, Reply reply, std::string_view op_name,
                         std::vector<std::pair<std::string, std::string>> extra = {}) {
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  const state::OperationType* type = ctx.ledger->registry().FindOperation(op_name);
  if (!type) return reply(ErrorResponse(Error::Internal("operation " + std::string(op_name) + " is not registered")));
  if (type->auth() == state::Auth::kOperator) {
    auto auth = CheckOperator(req, ctx);
    if (!auth.ok()) return reply(ErrorResponse(auth.error()));
  }
  auto request = RequestFromBody(*body, *type);
  if (!request.ok()) return reply(ErrorResponse(request.error()));
  for (auto& entry : extra) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& key = entry.first;
    const std::string& value = entry.second;
    for (const auto& [k, v] : request->fields)
      if (k == key && v != value)
        return reply(ErrorResponse(Error::Invalid("invalid_field", "field '" + key + "' disagrees with the path")));
    std::erase_if(request->fields, [&](const auto& f) { return f.first == key; });
    request->fields.emplace_back(key, value);
  }
  // Public operations (attestations, heartbeats) take a publicratelimit token.
  if (auto limited = ChargePublicOperation(ctx, req, request->auth)) return reply(std::move(*limited));
  ctx.ledger->SubmitRequest(*request, AnswerLater(std::move(reply), ReceiptOrUnchangedResponse));
}

// The answer of every bridge endpoint on a node without an L1 backend.
inline Error BridgeUnavailable() {
  return Error::Unavailable("bridge_unavailable",
                            "the bridge is not available: no L1 backend is configured (bitcoinrpcurl)");
}

// Runs `read` on a pooled read connection of the state store and replies
// with its JSON (or its error).
inline void ReadStateReply(const ApiContext& ctx, const Reply& reply,
                           const std::function<Result<Json>(store::Database&)>& read) {
  Json out;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto j = read(db);
    if (!j.ok()) return std::move(j).error();
    out = std::move(*j);
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(JsonResponse(out));
}

// Decimal text of a 128-bit sum.
inline std::string U128Decimal(u128 v) {
  if (v == 0) return "0";
  std::string out;
  for (; v > 0; v /= 10) out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
  return out;
}

}  // namespace kray::api
