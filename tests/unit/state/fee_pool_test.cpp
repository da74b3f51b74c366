// OpContext::AddModuleValueToFeePool: a module that collected a fee into its
// own books (an escrow) settles it into the validator fee pool later, and
// conservation holds before and after. A local module keeps the fee in a
// table and reports it as its conservation term.
#include <gtest/gtest.h>

#include <array>

#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_context.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Options;
using testing::TempDir;

constexpr std::uint8_t kFeeLeaf = 0x4f;

constexpr store::Migration kMigrations[] = {
    {1, "001_fees.sql", "CREATE TABLE held_fees (id INTEGER PRIMARY KEY CHECK (id = 1), amount INTEGER NOT NULL);"},
};

Result<Amount> Held(store::Database& db) {
  auto v = store::QueryInt(db, "SELECT COALESCE(SUM(amount), 0) FROM held_fees", 0);
  if (!v.ok()) return std::move(v).error();
  return static_cast<Amount>(*v);
}

Status SetHeld(store::Database& db, Amount amount) {
  auto st = db.Use("INSERT OR REPLACE INTO held_fees (id, amount) VALUES (1, ?1)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(amount));
  return (*st)->Run();
}

Result<std::optional<Bytes>> EncodeHeld(store::Database& db, std::string_view) {
  auto held = Held(db);
  if (!held.ok()) return std::move(held).error();
  Bytes out{kFeeLeaf};
  PutU64(out, *held);
  return std::optional<Bytes>(std::move(out));
}

// collect: the signer pays `amount` KRAY into the module's books.
class CollectOp : public OperationType {
 public:
  std::string_view name() const override { return "fee_collect"; }
  Auth auth() const override { return Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto amount = ParseAmount(*op.Field("amount"));
    if (!amount.ok()) return std::move(amount).error();
    KRAY_TRY(ctx.Debit(op.signer, "KRAY", Bucket::kAvailable, *amount));
    auto held = Held(ctx.Sql());
    if (!held.ok()) return std::move(held).error();
    KRAY_TRY(SetHeld(ctx.Sql(), *held + *amount));
    ctx.Touch(LeafId{kFeeLeaf, "held"});
    return Ok();
  }

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"amount", FieldKind::kAmount}}};
};

// settle: everything held goes to the fee pool.
class SettleOp : public OperationType {
 public:
  std::string_view name() const override { return "fee_settle"; }
  Auth auth() const override { return Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return {}; }
  Status Apply(OpContext& ctx, const Operation&) const override {
    auto held = Held(ctx.Sql());
    if (!held.ok()) return std::move(held).error();
    KRAY_TRY(ctx.AddModuleValueToFeePool("KRAY", *held));
    KRAY_TRY(SetHeld(ctx.Sql(), 0));
    ctx.Touch(LeafId{kFeeLeaf, "held"});
    return Ok();
  }
};

class FeeModule : public Module {
 public:
  std::string_view name() const override { return "feetest"; }
  std::span<const store::Migration> migrations() const override { return kMigrations; }
  std::vector<const OperationType*> operations() const override { return {&collect_, &settle_}; }
  std::vector<LeafType> leaf_types() const override {
    return {LeafType{kFeeLeaf, "feetest.held", EncodeHeld,
                     [](store::Database&, const std::function<Status(std::string_view)>& fn) { return fn("held"); }}};
  }
  Result<std::vector<ConservationTerm>> Audit(store::Database& db) const override {
    auto held = Held(db);
    if (!held.ok()) return std::move(held).error();
    return std::vector<ConservationTerm>{{"feetest.held", "KRAY", *held}};
  }

 private:
  CollectOp collect_;
  SettleOp settle_;
};

TEST(FeePool, ModuleValueSettlesIntoTheFeePoolAndConservationHolds) {
  static const FeeModule module;
  static const ModuleRegistry registry = [] {
    ModuleRegistry r;
    EXPECT_TRUE(r.Add(module).ok());
    return r;
  }();
  TempDir dir;
  auto l = Ledger::Open(Options(dir), registry);
  ASSERT_TRUE(l.ok()) << l.error().message;
  Ledger& ledger = **l;
  OperationRequest collect;
  collect.type = "fee_collect";
  collect.signer = Dev1().account_id;
  collect.nonce = 0;
  collect.fields = {{"amount", "100"}};
  auto op = test::SignOperation(ledger.params(), ledger.registry(), collect, Dev1());
  ASSERT_TRUE(op.ok()) << op.error().message;
  ASSERT_TRUE(ledger.SubmitSync(std::move(*op)).ok());
  auto before = ledger.CheckConservation();
  ASSERT_TRUE(before.ok() && before->ok) << before->ToString();

  OperationRequest settle;
  settle.type = "fee_settle";
  settle.auth = Auth::kOperator;
  auto r = ledger.SubmitRequestSync(settle);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto after = ledger.CheckConservation();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->ok) << after->ToString();
  for (const auto& line : after->lines) {
    if (line.asset == "KRAY") {
      EXPECT_EQ(line.fee_pool, 100u);
    }
  }
  // The supply leaf (fee pool) is part of the committed change.
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    auto supply = LoadSupply(db, "KRAY");
    if (!supply.ok()) return std::move(supply).error();
    EXPECT_EQ(supply->fee_pool, 100u);
    return Ok();
  });
  EXPECT_TRUE(s.ok());
}

}  // namespace
}  // namespace kray::state
