// Rollup endpoints (see include/kray/api/handlers_rollup.h). Thin: parse,
// one read through the rollup module, reply with its JSON encoding.
#include "kray/api/handlers_rollup.h"

#include <charconv>

#include "kray/api/handlers.h"
#include "kray/api/json_util.h"
#include "kray/api/router.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/json.h"
#include "kray/state/ledger.h"

namespace kray::api {
namespace {

HttpResponse Raw(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

Result<std::int64_t> ParseNumber(std::string_view s, const char* what) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0)
    return Error::Invalid("invalid_field", std::string(what) + " must be a non-negative integer");
  return v;
}

// Runs `fn` on a reader connection and replies with its body or error.
template <class F>
void WithRead(const ApiContext& ctx, Reply& reply, F fn) {
  std::string body;
  Status s = ctx.ledger->WithReader([&](store::Database& db) -> Status {
    auto r = fn(db);
    if (!r.ok()) return std::move(r).error();
    body = std::move(*r);
    return Ok();
  });
  if (!s.ok()) {
    Error e = s.error();
    if (e.code == "rollup_not_initialized") e.kind = ErrorKind::kUnavailable;
    return reply(ErrorResponse(e));
  }
  reply(Raw(std::move(body)));
}

}  // namespace

void RegisterRollupRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/rollup/state-root", [&ctx](const HttpRequest&, Reply reply) {
    WithRead(ctx, reply, [](store::Database& db) -> Result<std::string> {
      auto st = rollup::GetRollupStatus(db);
      if (!st.ok()) return std::move(st).error();
      auto n = rollup::CountBatches(db);
      if (!n.ok()) return std::move(n).error();
      return rollup::RollupStatusJson(*st, *n);
    });
  });
  router.Add("GET", "/api/rollup/batches", [&ctx](const HttpRequest& req, Reply reply) {
    auto limit = QueryInt(req, "limit", 50, 1, 500);
    if (!limit.ok()) return reply(ErrorResponse(limit.error()));
    auto offset = QueryInt(req, "offset", 0, 0, 1 << 30);
    if (!offset.ok()) return reply(ErrorResponse(offset.error()));
    WithRead(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto list = rollup::ListBatches(db, *limit, *offset);
      if (!list.ok()) return std::move(list).error();
      auto n = rollup::CountBatches(db);
      if (!n.ok()) return std::move(n).error();
      return rollup::BatchListJson(*list, *n, *limit, *offset);
    });
  });
  router.Add("GET", "/api/rollup/batch/:id", [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ParseNumber(req.Param("id"), "batch id");
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    WithRead(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto b = rollup::GetBatch(db, *id);
      if (!b.ok()) return std::move(b).error();
      auto hashes = rollup::BatchTxHashes(db, *b);
      if (!hashes.ok()) return std::move(hashes).error();
      return rollup::BatchJson(*b, &*hashes);
    });
  });
  router.Add("GET", "/api/rollup/batch/:id/transactions", [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ParseNumber(req.Param("id"), "batch id");
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    WithRead(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto b = rollup::GetBatch(db, *id);
      if (!b.ok()) return std::move(b).error();
      auto txs = rollup::BatchTransactions(db, *b);
      if (!txs.ok()) return std::move(txs).error();
      auto events = rollup::BatchAccountEvents(db, *id);
      if (!events.ok()) return std::move(events).error();
      return rollup::BatchTransactionsJson(*b, *txs, *events);
    });
  });
  router.Add("GET", "/api/rollup/genesis", [&ctx](const HttpRequest&, Reply reply) {
    WithRead(ctx, reply, [](store::Database& db) -> Result<std::string> {
      auto st = rollup::GetRollupStatus(db);
      if (!st.ok()) return std::move(st).error();
      auto leaves = rollup::GenesisLeaves(db);
      if (!leaves.ok()) return std::move(leaves).error();
      return rollup::GenesisJson(*st, *leaves);
    });
  });
  router.Add("GET", "/api/account/:address/proof", [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ctx.ledger->ResolveAccountId(req.Param("address"));
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    std::optional<std::int64_t> batch;
    if (auto q = req.Query("batch")) {
      auto n = ParseNumber(*q, "batch");
      if (!n.ok()) return reply(ErrorResponse(n.error()));
      batch = *n;
    }
    WithRead(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto p = rollup::ProveAccount(db, *id, batch);
      if (!p.ok()) return std::move(p).error();
      return rollup::AccountProofJson(*p);
    });
  });
}

}  // namespace kray::api
