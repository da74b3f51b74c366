// Rollup endpoints (see include/kray/api/handlers_rollup.h). Thin: parse, one
// read of the rollup index (and of the operation log for a batch's
// operations), reply with the rollup module's JSON encoding.
#include "kray/api/handlers_rollup.h"

#include <charconv>

#include "json_writer.h"
#include "kray/api/handlers.h"
#include "kray/api/handlers_bridge.h"
#include "kray/api/json_util.h"
#include "kray/api/router.h"
#include "kray/rollup/batch.h"
#include "kray/rollup/json.h"
#include "kray/rollup/rollup.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "shared_body.h"
#include "validators_json.h"

namespace kray::api {
namespace {

constexpr int kDefaultPage = 1000;
constexpr int kMaxPage = 5000;

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

// {genesis, genesis_hash, genesis_root}, the members in nlohmann's (sorted)
// order, written without a tree: the file is the largest part, copied once.
std::string GenesisBody(std::string_view root, std::string_view hash, std::string_view file) {
  std::string out;
  out.reserve(file.size() + file.size() / 8 + 256);
  out += "{\"genesis\":";
  AppendJsonString(out, file);
  out += ",\"genesis_hash\":";
  AppendJsonString(out, hash);
  out += ",\"genesis_root\":";
  AppendJsonString(out, root);
  out += '}';
  return out;
}

// Runs `fn` on a reader of the rollup index and replies with its body or error.
template <class F>
void WithIndex(const ApiContext& ctx, Reply& reply, F fn) {
  if (!ctx.rollup)
    return reply(ErrorResponse(Error::Unavailable("rollup_not_initialized", "the rollup index is not running")));
  std::string body;
  Status s = ctx.rollup->WithReader([&](store::Database& db) -> Status {
    auto r = fn(db);
    if (!r.ok()) return std::move(r).error();
    body = std::move(*r);
    return Ok();
  });
  if (!s.ok()) return reply(ErrorResponse(s.error()));
  reply(Raw(std::move(body)));
}

}  // namespace

void RegisterRollupRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/rollup/state-root", [&ctx](const HttpRequest&, Reply reply) {
    WithIndex(ctx, reply, [](store::Database& db) -> Result<std::string> {
      store::ReadTransaction snapshot(db);
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
    auto offset = QueryInt(req, "offset", 0, 0, 10000);
    if (!offset.ok()) return reply(ErrorResponse(offset.error()));
    auto before = QueryU64(req, "before");
    if (!before.ok()) return reply(ErrorResponse(before.error()));
    WithIndex(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      store::ReadTransaction snapshot(db);
      auto list = rollup::ListBatches(db, *limit, static_cast<std::int64_t>(*before), *offset);
      if (!list.ok()) return std::move(list).error();
      for (auto& b : *list) OverlayAnchor(ctx, b);  // the bridge publishes anchors
      auto n = rollup::CountBatches(db);
      if (!n.ok()) return std::move(n).error();
      std::int64_t next = static_cast<int>(list->size()) == *limit && list->back().number > 1 ? list->back().number : 0;
      return rollup::BatchListJson(*list, *n, *limit, next);
    });
  });
  router.Add("GET", "/api/rollup/batch/:id", [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ParseNumber(req.Param("id"), "batch id");
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    WithIndex(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto b = rollup::GetBatch(db, *id);
      if (!b.ok()) return std::move(b).error();
      OverlayAnchor(ctx, *b);  // the bridge publishes anchors
      // The validators' attestations of the batch and whether they reach
      // quorum (docs/VALIDATORS.md).
      return WithAttestations(ctx, rollup::BatchJson(*b), *id);
    });
  });
  // A batch's operations, in seq order, paged: ?after=<seq>&limit=.
  auto operations = [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ParseNumber(req.Param("id"), "batch id");
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    auto limit = QueryInt(req, "limit", kDefaultPage, 1, kMaxPage);
    if (!limit.ok()) return reply(ErrorResponse(limit.error()));
    auto after = QueryU64(req, "after");
    if (!after.ok()) return reply(ErrorResponse(after.error()));
    WithIndex(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto b = rollup::GetBatch(db, *id);
      if (!b.ok()) return std::move(b).error();
      std::int64_t first = std::max<std::int64_t>(b->first_seq, static_cast<std::int64_t>(*after) + 1);
      std::vector<state::Operation> ops;
      if (first <= b->last_seq) {
        Status s = ctx.ledger->WithReader([&](store::Database& state_db) -> Status {
          auto r = state::OperationsInRange(state_db, static_cast<std::uint64_t>(first),
                                            static_cast<std::uint64_t>(b->last_seq), static_cast<std::size_t>(*limit));
          if (!r.ok()) return std::move(r).error();
          ops = std::move(*r);
          return Ok();
        });
        if (!s.ok()) return std::move(s).error();
      }
      std::optional<std::int64_t> next;
      if (!ops.empty() && static_cast<std::int64_t>(ops.back().seq) < b->last_seq)
        next = static_cast<std::int64_t>(ops.back().seq);
      return rollup::BatchOperationsJson(*b, ops, next);
    });
  };
  router.Add("GET", "/api/rollup/batch/:id/operations", operations);
  router.Add("GET", "/api/rollup/batch/:id/transactions", operations);
  auto genesis = std::make_shared<SharedBody>();  // the same bytes for the node's lifetime
  router.Add("GET", "/api/rollup/genesis", [&ctx, genesis](const HttpRequest&, Reply reply) {
    if (!ctx.rollup)
      return reply(ErrorResponse(Error::Unavailable("rollup_not_initialized", "the rollup index is not running")));
    auto body = genesis->Get([&ctx]() -> Result<std::string> {
      std::string root;
      Status s = ctx.rollup->WithReader([&](store::Database& db) -> Status {
        auto st = rollup::GetRollupStatus(db);
        if (!st.ok()) return std::move(st).error();
        root = st->genesis_root;
        return Ok();
      });
      if (!s.ok()) return std::move(s).error();
      auto file = ctx.ledger->genesis_file();
      if (!file.ok()) return std::move(file).error();
      return GenesisBody(root, ctx.ledger->genesis_hash(), *file);
    });
    if (!body.ok()) return reply(ErrorResponse(body.error()));
    HttpResponse r;
    r.shared_body = std::move(*body);
    reply(std::move(r));
  });
  router.Add("GET", "/api/account/:address/proof", [&ctx](const HttpRequest& req, Reply reply) {
    auto id = ctx.ledger->ResolveAccount(req.Param("address"));
    if (!id.ok()) return reply(ErrorResponse(id.error()));
    std::optional<std::int64_t> batch;
    if (auto q = req.Query("batch")) {
      auto n = ParseNumber(*q, "batch");
      if (!n.ok()) return reply(ErrorResponse(n.error()));
      batch = *n;
    }
    WithIndex(ctx, reply, [&](store::Database& db) -> Result<std::string> {
      auto p = rollup::ProveLeaf(db, state::LeafId{state::kAccountLeaf, id->account_id}, batch);
      if (!p.ok()) return std::move(p).error();
      return rollup::LeafProofJson(*p);
    });
  });
}

}  // namespace kray::api
