// The example module (see example_module.h).
#include "kray/testsupport/example_module.h"

#include <array>
#include <atomic>
#include <nlohmann/json.hpp>

#include "kray/state/leaves.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "kray/state/tx_message.h"
#include "kray/store/database.h"

namespace kray::test {
namespace {

std::atomic<bool> forget_touch{false};

using state::FieldKind;
using state::FieldSpec;

constexpr store::Migration kMigrations[] = {
    {1, "001_example.sql",
     "CREATE TABLE example_escrows (id TEXT PRIMARY KEY, owner TEXT NOT NULL, asset TEXT NOT NULL, "
     "amount INTEGER NOT NULL CHECK (amount > 0), expires_at INTEGER NOT NULL) WITHOUT ROWID;"},
};

Amount FieldAmount(const state::Operation& op, std::string_view key) {
  auto v = op.Field(key);
  auto a = v ? ParseAmount(*v) : Result<Amount>(Error::Invalid("missing_field", ""));
  return a.ok() ? *a : 0;
}

Result<std::optional<ExampleEscrow>> FindEscrow(store::Database& db, std::string_view id) {
  auto st = db.Use("SELECT id, owner, asset, amount, expires_at FROM example_escrows WHERE id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  return store::FirstRow<ExampleEscrow>(**st, [](const store::Statement& s) {
    return ExampleEscrow{s.Text(0), s.Text(1), s.Text(2), static_cast<Amount>(s.Int64(3)), s.Int64(4)};
  });
}

// Returns the escrow to its owner and removes it.
Status Return(state::OpContext& ctx, std::string_view id) {
  auto e = FindEscrow(ctx.Sql(), id);
  if (!e.ok()) return std::move(e).error();
  if (!e->has_value()) return Error::NotFound("escrow_not_found", "no escrow " + std::string(id));
  KRAY_TRY(ctx.Credit((*e)->owner, (*e)->asset, state::Bucket::kAvailable, (*e)->amount));
  auto del = ctx.Sql().Use("DELETE FROM example_escrows WHERE id=?1");
  if (!del.ok()) return std::move(del).error();
  (*del)->Bind(1, id);
  KRAY_TRY((*del)->Run());
  ctx.Touch(state::LeafId{kExampleLeaf, std::string(id)});
  return Ok();
}

Status Lock(state::OpContext& ctx, const std::string& id, const std::string& owner, const std::string& asset,
            Amount amount, std::int64_t expires_at) {
  auto existing = FindEscrow(ctx.Sql(), id);
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return Error::Conflict("escrow_exists", "escrow " + id + " already exists");
  KRAY_TRY(ctx.Debit(owner, asset, state::Bucket::kAvailable, amount));
  auto ins =
      ctx.Sql().Use("INSERT INTO example_escrows (id, owner, asset, amount, expires_at) VALUES (?1,?2,?3,?4,?5)");
  if (!ins.ok()) return std::move(ins).error();
  (*ins)->Bind(1, id).Bind(2, owner).Bind(3, asset).Bind(4, static_cast<std::int64_t>(amount)).Bind(5, expires_at);
  KRAY_TRY((*ins)->Run());
  if (!forget_touch.load()) ctx.Touch(state::LeafId{kExampleLeaf, id});
  return Ok();
}

class LockOp : public state::OperationType {
 public:
  std::string_view name() const override { return "example_lock"; }
  state::Auth auth() const override { return state::Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Amount gas() const override { return 2; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    if (FieldAmount(op, "amount") == 0) return Error::Invalid("invalid_amount", "amount must be greater than zero");
    if (!op.evidence.empty()) return Error::Invalid("invalid_evidence", "example_lock carries no evidence");
    return Ok();
  }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    return Lock(ctx, std::string(*op.Field("id")), op.signer, std::string(*op.Field("asset")),
                FieldAmount(op, "amount"), static_cast<std::int64_t>(FieldAmount(op, "expires_at")));
  }

 private:
  static constexpr std::array<FieldSpec, 4> kFields = {{
      {"amount", FieldKind::kAmount},
      {"asset", FieldKind::kAsset},
      {"expires_at", FieldKind::kUint},
      {"id", FieldKind::kId, true, std::nullopt, {}, 64},
  }};
};

class ReleaseOp : public state::OperationType {
 public:
  std::string_view name() const override { return "example_release"; }
  state::Auth auth() const override { return state::Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    return Return(ctx, *op.Field("id"));
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"id", FieldKind::kId, true, std::nullopt, {}, 64}}};
};

class ExpireOp : public state::OperationType {
 public:
  std::string_view name() const override { return "example_expire"; }
  state::Auth auth() const override { return state::Auth::kSystem; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Check(const ChainParams&, const state::Operation& op) const override {
    auto due = op.Evidence("due_at");
    if (!due || !ParseAmount(*due).ok() || op.evidence.size() != 1)
      return Error::Invalid("invalid_evidence", "example_expire names the expiry it acts on (due_at)");
    return Ok();
  }
  // The evidence is checked against the state and the recorded time, so a
  // replay rejects an expiry the node made up or made early.
  Status Apply(state::OpContext& ctx, const state::Operation& op) const override {
    auto e = FindEscrow(ctx.Sql(), *op.Field("id"));
    if (!e.ok()) return std::move(e).error();
    if (!e->has_value()) return Error::NotFound("escrow_not_found", "no escrow " + std::string(*op.Field("id")));
    if (std::to_string((*e)->expires_at) != *op.Evidence("due_at"))
      return Error::Invalid("invalid_evidence", "due_at is not the escrow's expiry");
    if (ctx.now() < (*e)->expires_at) return Error::Conflict("not_due", "the escrow has not expired yet");
    return Return(ctx, *op.Field("id"));
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"id", FieldKind::kId, true, std::nullopt, {}, 64}}};
};

Result<std::optional<Bytes>> EncodeEscrow(store::Database& db, std::string_view id) {
  auto e = FindEscrow(db, id);
  if (!e.ok()) return std::move(e).error();
  if (!e->has_value()) return std::optional<Bytes>();
  Bytes out{kExampleLeaf};
  state::PutLp(out, (*e)->id);
  state::PutLp(out, (*e)->owner);
  state::PutLp(out, (*e)->asset);
  state::PutU64(out, (*e)->amount);
  state::PutU64(out, static_cast<std::uint64_t>((*e)->expires_at));
  return std::optional<Bytes>(std::move(out));
}

class Example : public state::Module {
 public:
  std::string_view name() const override { return "example"; }
  std::span<const store::Migration> migrations() const override { return kMigrations; }
  std::vector<const state::OperationType*> operations() const override { return {&lock_, &release_, &expire_}; }
  std::vector<state::LeafType> leaf_types() const override {
    return {state::LeafType{kExampleLeaf, "example.escrow", EncodeEscrow,
                            [](store::Database& db, const std::function<Status(std::string_view)>& fn) -> Status {
                              auto st = db.Prepare("SELECT id FROM example_escrows ORDER BY id");
                              if (!st.ok()) return std::move(st).error();
                              return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
                            }}};
  }
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    auto st = db.Prepare("SELECT asset, SUM(amount) FROM example_escrows GROUP BY asset");
    if (!st.ok()) return std::move(st).error();
    return store::CollectRows<state::ConservationTerm>(*st, [](const store::Statement& r) {
      return state::ConservationTerm{"example.escrows", r.Text(0), static_cast<Amount>(r.Int64(1))};
    });
  }
  Status ApplyGenesis(state::OpContext& ctx, std::string_view section) const override {
    if (section.empty()) return Ok();
    auto j = nlohmann::json::parse(section, nullptr, false);
    if (!j.is_object() || !j.contains("escrows") || !j["escrows"].is_array())
      return Error::Invalid("invalid_genesis", "example: expected {\"escrows\": [...]}");
    for (const auto& e : j["escrows"]) {
      if (!e.is_object() || !e.value("id", nlohmann::json()).is_string() || !e.contains("owner") ||
          !e["owner"].is_string() || !e.contains("asset") || !e["asset"].is_string() || !e.contains("amount") ||
          !e["amount"].is_number_unsigned() || !e.contains("expires_at") || !e["expires_at"].is_number_unsigned())
        return Error::Invalid("invalid_genesis", "example: bad escrow entry");
      auto owner = state::ResolveAccount(ctx.params(), e["owner"].get<std::string>());
      if (!owner.ok()) return std::move(owner).error();
      KRAY_TRY(Lock(ctx, e["id"].get<std::string>(), owner->account_id, e["asset"].get<std::string>(),
                    e["amount"].get<Amount>(), e["expires_at"].get<std::int64_t>()));
    }
    return Ok();
  }
  Result<std::vector<state::Operation>> DueSystemOperations(store::Database& db, std::int64_t now) const override {
    auto st = db.Use("SELECT id, expires_at FROM example_escrows WHERE expires_at <= ?1 ORDER BY id LIMIT 100");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, now);
    return store::CollectRows<state::Operation>(**st, [](const store::Statement& r) {
      state::Operation op;
      op.type = "example_expire";
      op.auth = state::Auth::kSystem;
      op.fields = {{"id", r.Text(0)}};
      op.evidence = {{"due_at", std::to_string(r.Int64(1))}};
      return op;
    });
  }

 private:
  LockOp lock_;
  ReleaseOp release_;
  ExpireOp expire_;
};

}  // namespace

const state::Module& ExampleModule() {
  static const Example module;
  return module;
}

Result<std::vector<ExampleEscrow>> ListExampleEscrows(store::Database& db) {
  auto st = db.Use("SELECT id, owner, asset, amount, expires_at FROM example_escrows ORDER BY id");
  if (!st.ok()) return std::move(st).error();
  return store::CollectRows<ExampleEscrow>(**st, [](const store::Statement& s) {
    return ExampleEscrow{s.Text(0), s.Text(1), s.Text(2), static_cast<Amount>(s.Int64(3)), s.Int64(4)};
  });
}

void SetExampleForgetsTouch(bool forget) {
  forget_touch = forget;
}

}  // namespace kray::test
