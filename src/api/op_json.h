// Private to src/api: JSON mapping of operations and receipts shared by the
// handlers, request-body parsing into OperationRequests, and the operator
// token check.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "flat_json.h"
#include "json_writer.h"
#include "kray/api/handlers.h"
#include "kray/api/json_util.h"
#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"
#include "kray/state/request.h"

namespace kray::api {

// Credits of the gas token formatted with its decimals ("1.500").
std::string KrayString(Amount credits);

// An operation as served to wallets: the verifier's record
// (rollup::OperationJson) plus `status`, `batch_id`, and for transfers the
// fields of the original API (tx_type, from, to, asset, amount, data,
// created_at, confirmed_at).
Json OperationJson(const state::Operation& op, std::string_view status, std::optional<std::int64_t> batch);
// A receipt: tx_hash, status, seq, op, auth, gas_fee, confirmed_at,
// result{…}; for signed operations signer and new_nonce; for transfers also
// from, to, asset, amount (and to_address when the evidence names one).
// Written as text (json_writer.h), byte for byte what nlohmann would dump.
void WriteReceipt(JsonObjectWriter& w, const state::Receipt& r, std::string_view status = "confirmed");
std::string ReceiptBody(const state::Receipt& r, std::string_view status = "confirmed");
// The same as a Json, for handlers that add to it.
Json ReceiptJson(const state::Receipt& r);
// ReceiptJson, or the error.
HttpResponse ReceiptResponse(const Result<state::Receipt>& r);
// The same, with status "unchanged" for an operation that changed nothing
// (an idempotent repeat: nothing was recorded).
HttpResponse ReceiptOrUnchangedResponse(const Result<state::Receipt>& r);
// A ledger callback that answers `reply` with format(result), formatted on
// the connection's thread (Later), not on the sequencer's.
state::ReceiptCallback AnswerLater(Reply reply,
                                   std::function<HttpResponse(const Result<state::Receipt>&)> format = ReceiptResponse);

// A field's raw text: strings as sent, non-negative JSON integers in decimal;
// negative numbers, fractions and exponents are 400 invalid_amount, other
// JSON types 400 invalid_type.
Result<std::string> FieldText(const Json& value, std::string_view key);

// A REST request body -> OperationRequest for `type`: every member other than
// signature, nonce, sig_scheme, the signer field and `extra_ignored` becomes a
// field (strings as sent; JSON integers in decimal; anything else is 400
// invalid_type). Amount-like fields are checked later, by their FieldSpec.
Result<state::OperationRequest> RequestFromBody(const Json& body, const state::OperationType& type,
                                                std::initializer_list<std::string_view> extra_ignored = {});
// The same over a flat body (flat_json.h): the same request, the same errors.
Result<state::OperationRequest> RequestFromBody(const FlatObject& body, const state::OperationType& type,
                                                std::initializer_list<std::string_view> extra_ignored = {});

// OperationJson of a committed operation with the batch that holds it
// (looked up in the rollup index).
Json OperationWithBatch(const ApiContext& ctx, const state::Operation& op);

// Ok if `req` carries "Authorization: Bearer <ctx.rpctoken>" (the configured
// rpctoken, or krayd's cookie token when none is configured), compared in
// constant time (TokenMatches). With no token at all: 503 operator_disabled.
// Wrong, missing, or a prefix of the token: 401 unauthorized.
Status CheckOperator(const HttpRequest& req, const ApiContext& ctx);

// A public operation (no key, no gas) costs the client one token of
// ctx.public_limiter: nullopt when allowed (or limiting is off), else the
// 429 rate_limited response with Retry-After.
std::optional<HttpResponse> ChargePublicOperation(const ApiContext& ctx, const HttpRequest& req, state::Auth auth);
// The 429 for `retry_after_seconds`.
HttpResponse RateLimitedResponse(int retry_after_seconds, std::string_view what);

}  // namespace kray::api
