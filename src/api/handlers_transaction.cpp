// Transaction endpoints (transfers are the core "transfer" operation):
//   POST /api/transaction/send          one signed transfer -> receipt once committed
//   POST /api/transaction/batch         many signed transfers, one result each
//   POST /api/transaction/estimate-gas  gas of a tx type or operation
//   GET  /api/transaction/pending       queued, not yet committed
//   GET  /api/transaction/stats         totals, by type, gas (O(1) counters)
//   GET  /api/transaction/:hash         one operation, committed or queued (404 if unknown)
//   GET  /api/operations                the latest committed operations, newest first (cursor paging)
// Writes are asynchronous: the Ledger calls back after the group commit, on
// its sequencer thread (or, for /send when the sequencer was idle, on the
// connection's thread that applied it); the response is built on the
// connection's thread (Later).
#include <cctype>
#include <memory>
#include <optional>

#include "kray/api/handlers.h"
#include "kray/api/rate_limiter.h"
#include "kray/api/router.h"
#include "kray/rollup/rollup.h"
#include "kray/state/core_module.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "op_json.h"

namespace kray::api {

namespace {

const state::OperationType& TransferType(const ApiContext& ctx) {
  return *ctx.ledger->registry().FindOperation(state::kTransferOp);
}

// A transfer request body (a tree, or a flat body: flat_json.h). `tx_type` is
// accepted for the original API, but a transfer is a transfer: swaps, stakes
// and withdrawals are their modules' own operations.
template <class Body>
Result<state::Operation> ParseTransfer(const ApiContext& ctx, const Body& body) {
  if (!body.is_object()) return Error::Invalid("invalid_type", "a transaction must be a JSON object");
  auto tx_type = OptionalString(body, "tx_type", "transfer");
  if (!tx_type.ok()) return std::move(tx_type).error();
  if (*tx_type != "transfer") {
    if (!ParseTxType(*tx_type)) return Error::Invalid("invalid_tx_type", "unknown tx_type '" + *tx_type + "'");
    return Error::Invalid(
        "unsupported_tx_type",
        "tx_type '" + *tx_type + "' is not a transfer: use the operation's own endpoint (GET /api/operation/types)");
  }
  auto req = RequestFromBody(body, TransferType(ctx), {"tx_type"});
  if (!req.ok()) return std::move(req).error();
  // Submit and SubmitMany validate it (its errors come back in its answer).
  return state::BuildOperation(ctx.ledger->params(), ctx.ledger->registry(), *req, state::Validation::kAtSubmit);
}

// A FlatBody for `text`: for a body up to kReusedBodyBytes (a transfer's is
// ~300 bytes) the HTTP thread's own, its buffers reused, so reading a body
// allocates nothing of its own; a larger one (a batch of more than ~55
// items) gets a FlatBody in `own`: reuse would save such a batch at most
// ~8 % of its parse, inconsistently (bench/request_body_bench:
// BM_BatchBodyFlat against BM_BatchBodyFlatReused; docs/BENCHMARKS.md,
// sixty-sixth round). So a thread keeps at most what a 16 KiB body needs
// (~0.5 MB, an estimate). The views are read before the handler returns,
// and a handler never runs inside another on the same thread.
FlatBody& FlatBodyFor(std::string_view text, std::optional<FlatBody>& own) {
  constexpr std::size_t kReusedBodyBytes = 16 * 1024;
  thread_local FlatBody reused;
  return text.size() <= kReusedBodyBytes ? reused : own.emplace();
}

// A body that is one flat object (every signed transfer a wallet sends) is
// read without nlohmann's tree; any other goes through ParseJsonObject, whose
// value or error is then the answer.
Result<state::Operation> ParseTransferBody(const ApiContext& ctx, std::string_view text) {
  std::optional<FlatBody> own;
  FlatBody& flat = FlatBodyFor(text, own);
  if (flat.ParseObject(text)) return ParseTransfer(ctx, flat.object());
  auto body = ParseJsonObject(text);
  if (!body.ok()) return std::move(body).error();
  return ParseTransfer(ctx, *body);
}

void Send(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto op = ParseTransferBody(ctx, req.body);
  if (!op.ok()) return reply(ErrorResponse(op.error()));
  // An idle sequencer lets the connection's thread apply it: no hand-off.
  ctx.ledger->Submit(std::move(*op), AnswerLater(std::move(reply)), state::ApplyOn::kCallerIfIdle);
}

std::string ItemError(std::size_t index, const Error& e) {
  JsonObjectWriter w;
  w.Unsigned("index", index)
      .Bool("ok", false)
      .String("status", "rejected")
      .Signed("http_status", HttpStatusFor(e.kind))
      .String("error", e.message)
      .String("code", e.code);
  return w.Finish();
}

// `items`: a Json array or the FlatObjects of a flat body, non-empty.
template <class Items>
void SubmitBatch(const ApiContext& ctx, const HttpRequest& req, const Items& items, Reply reply) {
  if (items.size() > ctx.max_batch_items) {
    return reply(ErrorResponse(Error::Invalid("batch_too_large", "at most " + std::to_string(ctx.max_batch_items) +
                                                                     " transactions per batch (maxbatchitems)")));
  }
  // Every item costs the client a token (the request itself paid for the
  // first at the server): items past what the bucket holds are answered
  // 429 in their own result without being parsed or verified.
  const std::size_t paid = ctx.limiter ? 1 + ctx.limiter->TakeUpTo(req.client_ip, items.size() - 1) : items.size();
  // Items that fail to parse get their error now; the rest go to the
  // sequencer together, in order.
  struct State {
    std::vector<std::string> results;  // each item's JSON text
    std::vector<std::size_t> submitted_index;
  };
  auto st = std::make_shared<State>();
  st->results.resize(items.size());
  std::vector<state::Operation> ops;
  ops.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i >= paid) {
      st->results[i] = ItemError(i, Error{ErrorKind::kRateLimited, "rate_limited",
                                          "rate limit exceeded: this item was not processed, retry it later"});
      continue;
    }
    auto op = ParseTransfer(ctx, items[i]);
    if (!op.ok()) {
      st->results[i] = ItemError(i, op.error());
    } else {
      ops.push_back(std::move(*op));
      st->submitted_index.push_back(i);
    }
  }
  // Builds the response; for submitted items it runs on the connection's
  // thread (Later), not on the sequencer that answered them.
  auto respond = [st](const std::vector<Result<state::Receipt>>* receipts) {
    std::size_t accepted = 0;
    if (receipts) {
      for (std::size_t k = 0; k < receipts->size() && k < st->submitted_index.size(); ++k) {
        std::size_t i = st->submitted_index[k];
        const auto& r = (*receipts)[k];
        if (r.ok()) {
          JsonObjectWriter w;
          WriteReceipt(w, *r);
          st->results[i] = w.Unsigned("index", i).Bool("ok", true).Finish();
          ++accepted;
        } else {
          st->results[i] = ItemError(i, r.error());
        }
      }
    }
    std::size_t size = 2;
    for (const auto& r : st->results) size += r.size() + 1;
    std::string results;
    results.reserve(size);
    results += '[';
    for (std::size_t i = 0; i < st->results.size(); ++i) {
      if (i > 0) results += ',';
      // An item the ledger did not answer (never expected) is null, as before.
      results += st->results[i].empty() ? "null" : st->results[i];
    }
    results += ']';
    JsonObjectWriter w;
    w.Raw("results", std::move(results))
        .Unsigned("accepted", accepted)
        .Unsigned("rejected", st->results.size() - accepted);
    return JsonTextResponse(w.Finish());
  };
  if (ops.empty()) return reply(respond(nullptr));
  ctx.ledger->SubmitMany(std::move(ops),
                         [respond, reply = std::move(reply)](std::vector<Result<state::Receipt>> receipts) {
                           auto shared = std::make_shared<std::vector<Result<state::Receipt>>>(std::move(receipts));
                           reply(Later([respond, shared] { return respond(shared.get()); }));
                         });
}

void Batch(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  {
    // Every item a flat object: read without nlohmann's tree (flat_json.h).
    std::optional<FlatBody> own;
    FlatBody& flat = FlatBodyFor(req.body, own);
    if (flat.ParseArrayOf(req.body, "transactions")) return SubmitBatch(ctx, req, flat.items(), std::move(reply));
  }
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return reply(ErrorResponse(body.error()));
  auto it = body->find("transactions");
  if (it == body->end() || it->is_null()) {
    return reply(ErrorResponse(Error::Invalid("missing_field", "missing field 'transactions'")));
  }
  if (!it->is_array()) {
    return reply(ErrorResponse(Error::Invalid("invalid_type", "field 'transactions' must be an array")));
  }
  if (it->empty()) {
    return reply(ErrorResponse(Error::Invalid("invalid_field", "field 'transactions' must not be empty")));
  }
  SubmitBatch(ctx, req, *it, std::move(reply));
}

void EstimateGas(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  // An empty body means a plain transfer. `op` names any registered
  // operation; `tx_type` the original schedule.
  std::string type_name = "transfer";
  std::optional<std::string> op_name;
  if (!req.body.empty()) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return reply(ErrorResponse(body.error()));
    auto t = OptionalString(*body, "tx_type", "transfer");
    if (!t.ok()) return reply(ErrorResponse(t.error()));
    type_name = std::move(*t);
    auto o = OptionalString(*body, "op", "");
    if (!o.ok()) return reply(ErrorResponse(o.error()));
    if (!o->empty()) op_name = std::move(*o);
  }
  Amount gas = 0;
  std::string name;
  if (op_name) {
    const state::OperationType* t = ctx.ledger->registry().FindOperation(*op_name);
    if (!t) return reply(ErrorResponse(Error::Invalid("unknown_operation", "unknown operation '" + *op_name + "'")));
    gas = t->gas();
    name = *op_name;
  } else {
    auto type = ParseTxType(type_name);
    if (!type) return reply(ErrorResponse(Error::Invalid("invalid_tx_type", "unknown tx_type '" + type_name + "'")));
    gas = GasFor(*type);
    name = TxTypeName(*type);
  }
  auto split = SplitGas(gas);
  reply(JsonResponse({{"tx_type", name},
                      {"gas_fee_credits", AmountString(gas)},
                      {"gas_fee_kray", KrayString(gas)},
                      {"burned_credits", AmountString(split.burned)},
                      {"to_validators_credits", AmountString(split.to_validators)},
                      {"gas_asset", kGasAsset}}));
}

void Pending(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto limit = QueryInt(req, "limit", 100, 1, 1000);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto ops = ctx.ledger->Pending(*limit);
  Json arr = Json::array();
  for (const auto& op : ops) arr.push_back(OperationJson(op, "pending", std::nullopt));
  reply(JsonResponse({{"pending", std::move(arr)}, {"count", ops.size()}, {"limit", *limit}}));
}

void Stats(const ApiContext& ctx, const HttpRequest&, Reply reply) {
  auto s = ctx.ledger->GetTxStats();
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  Json by_type = Json::object();
  for (const auto& [k, v] : s->by_type) by_type[k] = v;
  reply(JsonResponse({{"total_transactions", s->total},
                      {"by_type", std::move(by_type)},
                      {"gas_collected_credits", AmountString(s->gas_collected)},
                      {"gas_collected_kray", KrayString(s->gas_collected)},
                      {"gas_burned_credits", AmountString(s->gas_burned)},
                      {"fee_pool_credits", AmountString(s->fee_pool)},
                      {"pending", s->pending},
                      {"accounts", s->accounts}}));
}

std::optional<std::int64_t> BatchOf(const ApiContext& ctx, std::uint64_t seq) {
  std::optional<std::int64_t> batch;
  if (!ctx.rollup) return batch;
  (void)ctx.rollup->WithReader([&](store::Database& db) -> Status {
    auto b = rollup::BatchOfSeq(db, static_cast<std::int64_t>(seq));
    if (b.ok()) batch = *b;
    return Ok();
  });
  return batch;
}

void Get(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  std::string hash(req.Param("hash"));
  for (auto& c : hash) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (hash.size() != 64 || !FromHex(hash)) {
    return reply(ErrorResponse(Error::Invalid("invalid_tx_hash", "tx hash must be 64 hex characters")));
  }
  auto found = ctx.ledger->GetOperation(hash);
  if (!found.ok()) return reply(ErrorResponse(found.error()));
  if (found->pending) return reply(JsonResponse(OperationJson(found->op, "pending", std::nullopt)));
  reply(JsonResponse(OperationJson(found->op, "confirmed", BatchOf(ctx, found->op.seq))));
}

// The explorer's "latest operations": the log's tail, newest first.
// ?before=<seq> (the previous page's next_before), ?limit=1..500.
void Recent(const ApiContext& ctx, const HttpRequest& req, Reply reply) {
  auto limit = QueryInt(req, "limit", 50, 1, 500);
  if (!limit.ok()) return reply(ErrorResponse(limit.error()));
  auto before = QueryU64(req, "before");
  if (!before.ok()) return reply(ErrorResponse(before.error()));
  std::vector<state::Operation> ops;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto r = state::RecentOperations(db, *before, static_cast<std::size_t>(*limit));
    if (!r.ok()) return std::move(r).error();
    ops = std::move(*r);
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  Json arr = Json::array();
  for (const auto& op : ops) arr.push_back(OperationWithBatch(ctx, op));
  bool full = static_cast<int>(ops.size()) == *limit && ops.back().seq > 1;
  reply(JsonResponse({{"operations", std::move(arr)},
                      {"count", ops.size()},
                      {"limit", *limit},
                      {"next_before", full ? Json(ops.back().seq) : Json(nullptr)}}));
}

}  // namespace

Json OperationWithBatch(const ApiContext& ctx, const state::Operation& op) {
  return OperationJson(op, "confirmed", BatchOf(ctx, op.seq));
}

void RegisterTransactionRoutes(Router& router, const ApiContext& ctx) {
  auto bind = [&ctx](void (*fn)(const ApiContext&, const HttpRequest&, Reply)) {
    return [&ctx, fn](const HttpRequest& req, Reply reply) { fn(ctx, req, std::move(reply)); };
  };
  router.Add("POST", "/api/transaction/send", bind(Send));
  router.Add("POST", "/api/transaction/batch", bind(Batch));
  router.Add("POST", "/api/transaction/estimate-gas", bind(EstimateGas));
  router.Add("GET", "/api/transaction/pending", bind(Pending));
  router.Add("GET", "/api/transaction/stats", bind(Stats));
  router.Add("GET", "/api/transaction/:hash", bind(Get));
  router.Add("GET", "/api/operations", bind(Recent));
}

}  // namespace kray::api
