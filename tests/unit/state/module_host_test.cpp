// The module host: every hook of the module contract, exercised through the
// example module (tests/support), plus listeners, pending operations and
// genesis handling.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "kray/state/conservation.h"
#include "kray/state/core_module.h"
#include "kray/state/genesis.h"
#include "kray/state/leaves.h"
#include "kray/state/ledger.h"
#include "kray/state/op_context.h"
#include "kray/store/database.h"
#include "kray/testsupport/example_module.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::Options;
using testing::TempDir;

const ModuleRegistry& WithExample() {
  static const ModuleRegistry r = [] {
    ModuleRegistry reg;
    EXPECT_TRUE(reg.Add(test::ExampleModule()).ok());
    return reg;
  }();
  return r;
}

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

// The regtest genesis plus an example-module section.
std::string GenesisWithEscrow(const TempDir& dir, std::int64_t expires_at) {
  std::ifstream in(testing::RegtestGenesis());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto pos = text.rfind('}');
  text.insert(pos, ",\n  \"example\": {\"escrows\": [{\"id\": \"g1\", \"owner\": \"" + Dev1().address +
                       "\", \"asset\": \"DOG\", \"amount\": 500, \"expires_at\": " + std::to_string(expires_at) +
                       "}]}\n");
  return WriteFile(dir, "genesis.json", text);
}

struct Recorder : ChangeListener {
  std::mutex mu;
  std::vector<GroupChanges> groups;
  void OnGroupCommitted(const std::shared_ptr<const GroupChanges>& c) override {
    std::lock_guard lock(mu);
    groups.push_back(*c);
  }
};

Result<std::vector<test::ExampleEscrow>> Escrows(Ledger& ledger) {
  std::vector<test::ExampleEscrow> out;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    auto e = test::ListExampleEscrows(db);
    if (!e.ok()) return std::move(e).error();
    out = std::move(*e);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<Receipt> Lock(Ledger& ledger, const Key& k, const std::string& id, Amount amount, std::int64_t expires,
                     std::uint64_t nonce) {
  OperationRequest r;
  r.type = "example_lock";
  r.signer = k.account_id;
  r.nonce = nonce;
  r.fields = {
      {"id", id}, {"asset", "BTC"}, {"amount", std::to_string(amount)}, {"expires_at", std::to_string(expires)}};
  auto op = test::SignOperation(ledger.params(), ledger.registry(), r, k);
  if (!op.ok()) return std::move(op).error();
  return ledger.SubmitSync(std::move(*op));
}

TEST(ModuleHost, EveryHookOfTheExampleModule) {
  TempDir dir;
  auto opts = Options(dir, GenesisWithEscrow(dir, 4000000000));
  auto l = Ledger::Open(opts, WithExample());
  ASSERT_TRUE(l.ok()) << l.error().message;
  Ledger& ledger = **l;
  Recorder rec;
  ledger.AddListener(&rec);
  Key a = Dev1();
  // Migration + genesis section: the escrow exists and its value left the owner.
  auto escrows = Escrows(ledger);
  ASSERT_TRUE(escrows.ok()) << escrows.error().message;
  ASSERT_EQ(escrows->size(), 1u);
  EXPECT_EQ((*escrows)[0].owner, a.account_id);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->BalanceOf("DOG").available, 100000000000u - 500);
  // Audit: the escrowed value is a conservation term.
  auto rep = ledger.CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
  for (const auto& line : rep->lines) {
    if (line.asset == "DOG") {
      EXPECT_EQ(line.extra.at("example.escrows"), 500u);
    }
  }

  // A signed operation: gas, nonce, module SQL, a module leaf in the change set.
  auto locked = Lock(ledger, a, "e1", 1000, ledger.Now() + 5, 0);
  ASSERT_TRUE(locked.ok()) << locked.error().message;
  EXPECT_EQ(locked->op->gas_fee, 2u);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->BalanceOf("BTC").available, 100000000u - 1000);
  ASSERT_EQ(rec.groups.size(), 1u);
  bool saw_leaf = false;
  for (const auto& c : rec.groups[0].leaves)
    if (c.id.type == test::kExampleLeaf && c.id.id == "e1") saw_leaf = c.data.has_value();
  EXPECT_TRUE(saw_leaf);
  EXPECT_EQ(std::count(locked->op->touched.begin(), locked->op->touched.end(), LeafId{test::kExampleLeaf, "e1"}), 1);
  // The receipt's operation is the change set's, not a copy of it.
  ASSERT_EQ(rec.groups[0].operations.size(), 1u);
  EXPECT_EQ(rec.groups[0].operations[0].get(), locked->op.get());

  // A failing operation keeps none of its module SQL (savepoint) or cache.
  auto dup = Lock(ledger, a, "e1", 1, ledger.Now() + 5, 1);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "escrow_exists");
  EXPECT_EQ(Escrows(ledger)->size(), 2u);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->nonce, 1u);

  // An operator operation.
  OperationRequest release;
  release.type = "example_release";
  release.auth = Auth::kOperator;
  release.fields = {{"id", "e1"}};
  auto released = ledger.SubmitRequestSync(release);
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(released->op->auth, Auth::kOperator);
  EXPECT_EQ(released->op->hash.size(), 64u);
  EXPECT_EQ(ledger.GetAccount(a.account_id)->BalanceOf("BTC").available, 100000000u);
  // ...which cannot be signed in by an account or submitted as another kind.
  release.auth = Auth::kSigned;
  EXPECT_FALSE(ledger.SubmitRequestSync(release).ok());

  // A system operation, generated by the node when the escrow expires: lock
  // one that expires in 1 s and wait for the sequencer's periodic check.
  auto soon = Lock(ledger, a, "e2", 77, ledger.Now() + 1, 1);
  ASSERT_TRUE(soon.ok()) << soon.error().message;
  for (int i = 0; i < 60 && Escrows(ledger)->size() > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  escrows = Escrows(ledger);
  ASSERT_EQ(escrows->size(), 1u);  // the genesis one (far future) remains
  EXPECT_EQ(ledger.GetAccount(a.account_id)->BalanceOf("BTC").available, 100000000u);
  auto stats = ledger.GetTxStats();
  EXPECT_EQ(stats->by_type["example_expire"], 1u);
  EXPECT_TRUE(ledger.CheckConservation()->ok);
}

TEST(ModuleHost, RegistryRefusesDuplicates) {
  ModuleRegistry r;
  EXPECT_TRUE(r.Add(test::ExampleModule()).ok());
  EXPECT_EQ(r.Add(test::ExampleModule()).error().code, "duplicate_module");
  EXPECT_NE(r.FindOperation("transfer"), nullptr);
  EXPECT_NE(r.FindLeafType(kAccountLeaf), nullptr);
  EXPECT_NE(r.FindLeafType(test::kExampleLeaf), nullptr);
}

// A module's system operations may not be forged from outside.
TEST(ModuleHost, SystemOperationsCannotBeSubmittedAsOtherKinds) {
  TempDir dir;
  auto l = Ledger::Open(Options(dir), WithExample());
  ASSERT_TRUE(l.ok());
  OperationRequest r;
  r.type = "example_expire";
  r.auth = Auth::kOperator;
  r.fields = {{"id", "x"}};
  EXPECT_EQ((*l)->SubmitRequestSync(r).error().code, "wrong_authorisation");
}

// A public type is public: only a type that says so (account_create's proof
// of possession) may also be sent signed.
class PingOp : public OperationType {
 public:
  std::string_view name() const override { return "test_ping"; }
  Auth auth() const override { return Auth::kPublic; }
  std::span<const FieldSpec> fields() const override { return {}; }
  Status Apply(OpContext&, const Operation&) const override { return Ok(); }
};
class PingModule : public Module {
 public:
  std::string_view name() const override { return "ping"; }
  std::vector<const OperationType*> operations() const override { return {&op}; }
  PingOp op;
};

TEST(Validate, PublicTypesAreSignedOnlyWhenTheySaySo) {
  PingModule ping;
  ModuleRegistry reg;
  ASSERT_TRUE(reg.Add(ping).ok());
  ChainParams params;
  Key a = Dev1();
  Operation op;
  op.type = "test_ping";
  op.auth = Auth::kPublic;
  EXPECT_TRUE(ValidateOperation(params, reg, op).ok());
  op.auth = Auth::kSigned;
  op.signer = a.account_id;
  op.scheme = SigScheme::kV1;
  op.signature = Bytes(64, 1);
  EXPECT_EQ(ValidateOperation(params, reg, op).error().code, "wrong_authorisation");
  Operation create;
  create.type = std::string(kAccountCreateOp);
  create.auth = Auth::kSigned;
  create.signer = a.account_id;
  create.scheme = SigScheme::kV1;
  create.signature = Bytes(64, 1);
  auto r = ValidateOperation(params, reg, create);  // signed is allowed; its fields are another matter
  EXPECT_TRUE(r.ok() || r.error().code != "wrong_authorisation") << r.error().code;
}

// A test-only module holding value taken from the fee pool in its own books
// (as the validators module accrues rewards): `test_fee` is a signed no-op
// paying 4 credits of gas (2 to the fee pool), `test_pot` (operator) takes
// `amount` KRAY out of the pool into the module's pot, which its audit reports.
class FeeOp : public OperationType {
 public:
  std::string_view name() const override { return "test_fee"; }
  Auth auth() const override { return Auth::kSigned; }
  std::span<const FieldSpec> fields() const override { return {}; }
  Amount gas() const override { return 4; }
  Status Apply(OpContext&, const Operation&) const override { return Ok(); }
};
class PotOp : public OperationType {
 public:
  std::string_view name() const override { return "test_pot"; }
  Auth auth() const override { return Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    auto amount = ParseAmount(*op.Field("amount"));
    if (!amount.ok()) return std::move(amount).error();
    KRAY_TRY(ctx.TakeFromFeePool(kGasAsset, *amount));
    *pot += *amount;  // stands in for the module's own table (no failure after this point)
    return Ok();
  }
  Amount* pot = nullptr;

 private:
  static constexpr std::array<FieldSpec, 1> kFields = {{{"amount", FieldKind::kAmount}}};
};
class PotModule : public Module {
 public:
  PotModule() { take.pot = &pot; }
  std::string_view name() const override { return "pot"; }
  std::vector<const OperationType*> operations() const override { return {&fee, &take}; }
  Result<std::vector<ConservationTerm>> Audit(store::Database&) const override {
    return std::vector<ConservationTerm>{{"pot.held", std::string(kGasAsset), pot}};
  }
  FeeOp fee;
  PotOp take;
  Amount pot = 0;
};

TEST(ModuleHost, TakeFromFeePoolMovesValueIntoTheModulesBooks) {
  TempDir dir;
  PotModule module;
  ModuleRegistry reg;
  ASSERT_TRUE(reg.Add(module).ok());
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  Key a = Dev1();
  OperationRequest fee;
  fee.type = "test_fee";
  fee.signer = a.account_id;
  fee.nonce = 0;
  auto paid = test::SignOperation(ledger.params(), reg, fee, a);
  ASSERT_TRUE(paid.ok()) << paid.error().message;
  ASSERT_TRUE(ledger.SubmitSync(std::move(*paid)).ok());
  auto supply = [&] {
    auto stats = ledger.GetTxStats();
    return stats.ok() ? std::make_pair(stats->fee_pool, stats->gas_burned) : std::make_pair(Amount{0}, Amount{0});
  };
  ASSERT_EQ(supply(), std::make_pair(Amount{2}, Amount{2}));

  OperationRequest take;
  take.type = "test_pot";
  take.auth = Auth::kOperator;
  take.fields = {{"amount", "3"}};
  auto refused = ledger.SubmitRequestSync(take);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "insufficient_fee_pool");
  EXPECT_EQ(module.pot, 0u);
  EXPECT_EQ(supply().first, 2u);

  take.fields = {{"amount", "2"}};
  ASSERT_TRUE(ledger.SubmitRequestSync(take).ok());
  EXPECT_EQ(module.pot, 2u);
  EXPECT_EQ(supply(), std::make_pair(Amount{0}, Amount{2}));  // moved, not burned
  auto rep = ledger.CheckConservation();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok) << rep->ToString();
}

// A test-only module whose public operation `test_gate` has a Precheck
// against committed state: it is refused before queueing once the log holds
// `limit` operations (Apply never sees it), and answered on the caller's
// thread.
class GateOp : public OperationType {
 public:
  std::string_view name() const override { return "test_gate"; }
  Auth auth() const override { return Auth::kPublic; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Precheck(const ChainParams&, const Operation& op, const ReadCommitted& read) const override {
    ++*prechecked;
    return read([&](store::Database& db) -> Status {
      auto count = store::QueryInt(db, "SELECT COUNT(*) FROM operations");
      if (!count.ok()) return std::move(count).error();
      if (*count >= std::stoll(std::string(op.Field("limit").value_or("0"))))
        return Error::Conflict("gate_closed", "the log already holds " + std::to_string(*count) + " operations");
      return Ok();
    });
  }
  Status Apply(OpContext&, const Operation&) const override {
    ++*applied;
    return Ok();
  }
  int* prechecked = nullptr;
  int* applied = nullptr;

 private:
  static constexpr std::array<FieldSpec, 2> kFields = {{{"limit", FieldKind::kUint}, {"n", FieldKind::kUint}}};
};
class GateModule : public Module {
 public:
  GateModule() {
    op.prechecked = &prechecked;
    op.applied = &applied;
  }
  std::string_view name() const override { return "gate"; }
  std::vector<const OperationType*> operations() const override { return {&op}; }
  GateOp op;
  int prechecked = 0, applied = 0;
};

TEST(ModuleHost, PrecheckRefusesAgainstCommittedStateBeforeQueueing) {
  TempDir dir;
  GateModule gate;
  ModuleRegistry reg;
  ASSERT_TRUE(reg.Add(gate).ok());
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  auto gate_op = [&](int limit, int n) {
    OperationRequest r;
    r.type = "test_gate";
    r.auth = Auth::kPublic;
    r.fields = {{"limit", std::to_string(limit)}, {"n", std::to_string(n)}};
    auto op = BuildOperation(ledger.params(), reg, r);
    EXPECT_TRUE(op.ok());
    return *op;
  };
  ASSERT_TRUE(ledger.SubmitSync(gate_op(1, 1)).ok());  // the log is empty: open
  EXPECT_EQ(gate.applied, 1);

  // Refused before queueing: the callback runs here, before Submit returns.
  bool answered = false;
  std::optional<Error> error;
  const auto caller = std::this_thread::get_id();
  bool on_caller = false;
  ledger.Submit(gate_op(1, 2), [&](Result<Receipt> r) {
    answered = true;
    on_caller = std::this_thread::get_id() == caller;
    if (!r.ok()) error = r.error();
  });
  EXPECT_TRUE(answered);
  EXPECT_TRUE(on_caller);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "gate_closed");
  ledger.Flush();
  EXPECT_EQ(gate.applied, 1);
  EXPECT_EQ(ledger.GetTxStats()->total, 1u);

  ASSERT_TRUE(ledger.SubmitSync(gate_op(5, 3)).ok());
  EXPECT_EQ(gate.applied, 2);
  EXPECT_EQ(gate.prechecked, 3);
}

// A test-only module with an operation that blocks, to hold the sequencer.
class ParkOp : public OperationType {
 public:
  std::string_view name() const override { return "test_park"; }
  Auth auth() const override { return Auth::kOperator; }
  std::span<const FieldSpec> fields() const override { return {}; }
  Status Apply(OpContext&, const Operation&) const override {
    entered->set_value();
    release->wait();
    return Error::Conflict("parked", "parking changes nothing");
  }
  std::promise<void>* entered = nullptr;
  std::shared_future<void>* release = nullptr;
};
class ParkModule : public Module {
 public:
  std::string_view name() const override { return "park"; }
  std::vector<const OperationType*> operations() const override { return {&op}; }
  ParkOp op;
};

TEST(Pending, QueuedOperationsAreFoundByHashUntilCommitted) {
  TempDir dir;
  ParkModule park;
  ModuleRegistry reg;
  ASSERT_TRUE(reg.Add(park).ok());
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  std::promise<void> entered, release;
  std::shared_future<void> release_f = release.get_future().share();
  park.op.entered = &entered;
  park.op.release = &release_f;
  OperationRequest parking;
  parking.type = "test_park";
  parking.auth = Auth::kOperator;
  ledger.SubmitRequest(parking, [](Result<Receipt>) {});
  entered.get_future().wait();
  Key a = Dev1(), b = Dev2();
  auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                test::TransferRequest(a.account_id, b.account_id, 42, 0), a);
  ASSERT_TRUE(op.ok());
  std::string hash = op->hash;
  std::promise<Result<Receipt>> done;
  ledger.Submit(*op, [&done](Result<Receipt> r) { done.set_value(std::move(r)); });
  auto pending = ledger.Pending(10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].Field("amount"), "42");
  auto found = ledger.GetOperation(hash);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->pending);
  EXPECT_EQ(ledger.GetTxStats()->pending, 1u);
  // The same operation again while it is queued.
  EXPECT_EQ(ledger.SubmitSync(*op).error().code, "already_pending");
  release.set_value();
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(ledger.Pending(10).empty());
  EXPECT_FALSE(ledger.GetOperation(hash)->pending);
}

// ApplyOn::kCallerIfIdle: an idle sequencer lets the caller apply the
// operation on its own thread (answered before Submit returns); a busy one
// (a group being applied, here by another caller) gets it queued, and the
// sequencer thread applies it afterwards, in order.
TEST(ApplyOnCaller, AnIdleSequencerLetsTheCallerApplyABusyOneQueues) {
  TempDir dir;
  ParkModule park;
  ModuleRegistry reg;
  ASSERT_TRUE(reg.Add(park).ok());
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  Key a = Dev1(), b = Dev2();
  auto transfer = [&](std::uint64_t nonce) {
    auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                  test::TransferRequest(a.account_id, b.account_id, 7, nonce), a);
    EXPECT_TRUE(op.ok());
    return *op;
  };

  std::optional<Result<Receipt>> first;
  std::thread::id first_on;
  ledger.Submit(
      transfer(0),
      [&](Result<Receipt> r) {
        first_on = std::this_thread::get_id();
        first.emplace(std::move(r));
      },
      ApplyOn::kCallerIfIdle);
  ASSERT_TRUE(first.has_value()) << "not applied before Submit returned";
  ASSERT_TRUE(first->ok()) << first->error().message;
  EXPECT_EQ(first_on, std::this_thread::get_id());
  EXPECT_FALSE(ledger.GetOperation((*first)->op->hash)->pending);

  // Another caller applies a parking operation on its own thread; meanwhile
  // ours must not wait for it: it is queued.
  std::promise<void> entered, release;
  std::shared_future<void> release_f = release.get_future().share();
  park.op.entered = &entered;
  park.op.release = &release_f;
  OperationRequest parking;
  parking.type = "test_park";
  parking.auth = Auth::kOperator;
  std::thread::id parker_on, parked_answered_on;
  std::thread parker([&] {
    parker_on = std::this_thread::get_id();
    ledger.SubmitRequest(
        parking, [&](Result<Receipt>) { parked_answered_on = std::this_thread::get_id(); }, ApplyOn::kCallerIfIdle);
  });
  entered.get_future().wait();
  std::promise<Result<Receipt>> second;
  std::atomic<bool> second_answered{false};
  std::thread::id second_on;
  ledger.Submit(
      transfer(1),
      [&](Result<Receipt> r) {
        second_on = std::this_thread::get_id();
        second_answered = true;
        second.set_value(std::move(r));
      },
      ApplyOn::kCallerIfIdle);
  EXPECT_FALSE(second_answered) << "applied while another caller held the sequencer";
  EXPECT_EQ(ledger.Pending(10).size(), 1u);
  release.set_value();
  parker.join();
  EXPECT_EQ(parked_answered_on, parker_on);
  auto r = second.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(second_on, std::this_thread::get_id());
  EXPECT_NE(second_on, parker_on);
  EXPECT_EQ(r->op->seq, (*first)->op->seq + 1);  // the parked operation failed and took no seq
  EXPECT_TRUE(ledger.CheckConservation()->ok);
}

// SubmitMany checks a batch on the ledger's batch threads: even a batch
// refused before the sequencer (here, a forged signature) is answered on
// another thread; the caller (an HTTP worker) is never held by a batch's
// signature checks.
TEST(SubmitMany, ChecksTheBatchOffTheCallersThread) {
  TempDir dir;
  ModuleRegistry reg;
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  Key a = Dev1(), b = Dev2();
  auto forged = test::SignOperation(ledger.params(), ledger.registry(),
                                    test::TransferRequest(a.account_id, b.account_id, 7, 0), b);  // b signs for a
  ASSERT_TRUE(forged.ok());
  std::promise<std::pair<std::thread::id, std::vector<Result<Receipt>>>> answered;
  std::vector<Operation> ops{*forged};
  ledger.SubmitMany(std::move(ops), [&](std::vector<Result<Receipt>> r) {
    answered.set_value({std::this_thread::get_id(), std::move(r)});
  });
  auto [on, results] = answered.get_future().get();
  EXPECT_NE(on, std::this_thread::get_id()) << "checked on the caller's thread";
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].error().code, "invalid_signature");
}

// The default (ApplyOn::kSequencer) never applies on the caller's thread.
TEST(ApplyOnCaller, TheDefaultAlwaysQueues) {
  TempDir dir;
  ModuleRegistry reg;
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  Key a = Dev1(), b = Dev2();
  auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                test::TransferRequest(a.account_id, b.account_id, 7, 0), a);
  ASSERT_TRUE(op.ok());
  std::promise<std::thread::id> answered_on;
  ledger.Submit(*op, [&](Result<Receipt> r) {
    EXPECT_TRUE(r.ok());
    answered_on.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(answered_on.get_future().get(), std::this_thread::get_id());
}

TEST(Genesis, AppliedOnceAndDifferentGenesisRefused) {
  TempDir dir;
  ModuleRegistry reg;
  {
    auto l = Ledger::Open(Options(dir), reg);
    ASSERT_TRUE(l.ok()) << l.error().message;
  }
  auto again = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(again.ok()) << again.error().message;
  again->reset();
  std::ifstream in(testing::RegtestGenesis());
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text += "\n";  // one byte different
  auto other = Ledger::Open(Options(dir, WriteFile(dir, "g2.json", text)), reg);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "genesis_mismatch");
  auto chain = Options(dir);
  chain.params.chain_id = "kray-regtest-2";
  EXPECT_EQ(Ledger::Open(chain, reg).error().code, "chain_id_mismatch");
}

// A large genesis checks its keys on every core; a wrong key is still
// reported, and it is the first one by index, whichever thread found it.
TEST(Genesis, LargeGenesisChecksEveryKeyAndNamesTheFirstBadOne) {
  ModuleRegistry reg;
  ChainParams params;
  constexpr int kAccounts = 6000;
  std::vector<Key> keys;
  keys.reserve(kAccounts);
  for (int i = 0; i < kAccounts; ++i) keys.push_back(testing::KeyFromSeed("genesis-" + std::to_string(i)));
  // `wrong`: a key that is another account's; `broken`: an address that does not parse.
  auto build = [&](std::set<int> wrong, std::set<int> broken = {}) {
    std::string j = "{\"chain_id\":\"kray-regtest-1\",\"timestamp\":1,\"accounts\":[";
    for (int i = 0; i < kAccounts; ++i) {
      const Key& key = wrong.count(i) ? keys[(i + 1) % kAccounts] : keys[i];
      const std::string address = broken.count(i) ? "bcrt1pnotanaddress" : keys[i].address;
      j += std::string(i ? "," : "") + "{\"l1_address\":\"" + address + "\",\"pubkey\":\"" + ToHex(key.pub) +
           "\",\"balances\":{\"KRAY\":\"1\"}}";
    }
    return ParseGenesis(params, reg, j + "]}");
  };
  auto good = build({});
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->accounts.size(), static_cast<std::size_t>(kAccounts));
  for (auto wrong : {std::set<int>{5999}, std::set<int>{4101, 4500, 5001}, std::set<int>{3, 4100}}) {
    auto bad = build(wrong);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "invalid_genesis");
    EXPECT_NE(bad.error().message.find("accounts[" + std::to_string(*wrong.begin()) + "]"), std::string::npos)
        << bad.error().message;
    EXPECT_NE(bad.error().message.find("BIP-86"), std::string::npos);
  }
  // An entry that does not parse is reported before any key that is not its
  // address's, and the first one by index whichever thread parsed it.
  for (auto [wrong, broken, first] : {std::tuple{std::set<int>{3}, std::set<int>{5000}, 5000},
                                      std::tuple{std::set<int>{}, std::set<int>{4101, 4500}, 4101},
                                      std::tuple{std::set<int>{10}, std::set<int>{4101, 4100, 5999}, 4100}}) {
    auto bad = build(wrong, broken);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "invalid_genesis");
    EXPECT_NE(bad.error().message.find("accounts[" + std::to_string(first) + "]"), std::string::npos)
        << bad.error().message;
    EXPECT_EQ(bad.error().message.find("BIP-86"), std::string::npos) << bad.error().message;
  }
}

TEST(Genesis, BadFilesNameTheEntry) {
  ModuleRegistry reg;
  ChainParams params;
  Key a = Dev1();
  std::string upper = a.address;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string mixed = a.address;
  mixed[7] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[7])));
  auto parse = [&](const std::string& accounts, const std::string& extra = "") {
    return ParseGenesis(
        params, reg, "{\"chain_id\":\"kray-regtest-1\",\"timestamp\":1,\"accounts\":[" + accounts + "]" + extra + "}");
  };
  // Upper case is the same address, normalised to lower case.
  auto ok = parse("{\"l1_address\":\"" + upper + "\",\"balances\":{\"KRAY\":\"5\"}}");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->accounts[0].l1_address, a.address);
  struct Case {
    std::string accounts, extra, needle;
  } cases[] = {
      {"{\"l1_address\":\"" + mixed + "\"}", "", "accounts[0]"},
      {"{\"l1_address\":\"bc1p5mlukaswwcm5awfd26l3n0dy6sf2al6d47sp6nm8np43meh3j0tqrrrrrr\"}", "", "accounts[0]"},
      {"{\"l1_address\":\"" + a.address + "\",\"balances\":{\"KRAY\":\"05\"}}", "", "KRAY"},
      {"{\"l1_address\":\"" + a.address + "\",\"balances\":{\"NOPE\":\"5\"}}", "", "NOPE"},
      {"{\"l1_address\":\"" + a.address + "\",\"pubkey\":\"" + ToHex(Dev2().pub) + "\"}", "", "BIP-86"},
      {"{\"l1_address\":\"" + a.address + "\"},{\"l1_address\":\"" + upper + "\"}", "", "duplicate"},
      {"{\"l1_address\":\"" + a.address + "\",\"colour\":1}", "", "colour"},
      {"", ",\"nomodule\":{}", "nomodule"},
      {"{\"l1_address\":\"" + a.address + "\",\"balances\":{\"KRAY\":\"9223372036854775807\"}},{\"l1_address\":\"" +
           Dev2().address + "\",\"balances\":{\"KRAY\":\"1\"}}",
       "", "exceeds"},
  };
  for (const auto& c : cases) {
    auto g = parse(c.accounts, c.extra);
    ASSERT_FALSE(g.ok()) << c.accounts << c.extra;
    EXPECT_EQ(g.error().code, "invalid_genesis");
    EXPECT_NE(g.error().message.find(c.needle), std::string::npos) << g.error().message;
  }
  auto wrong_chain = ParseGenesis(params, reg, "{\"chain_id\":\"other\",\"timestamp\":1,\"accounts\":[]}");
  EXPECT_EQ(wrong_chain.error().code, "chain_id_mismatch");
}

TEST(Listener, RolledBackGroupPublishesNothingAndTheStoreFailsClosed) {
  // A group whose commit fails makes later writes fail (no retry into a
  // half-known state): simulate by making the operations table read-only.
  TempDir dir;
  ModuleRegistry reg;
  auto l = Ledger::Open(Options(dir), reg);
  ASSERT_TRUE(l.ok());
  Ledger& ledger = **l;
  Recorder rec;
  ledger.AddListener(&rec);
  {
    auto db = store::Database::Open(ledger.store_path());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->Exec("CREATE TRIGGER no_ops BEFORE INSERT ON operations BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
            .ok());
  }
  Key a = Dev1(), b = Dev2();
  auto r = testing::Transfer(ledger, a, a.account_id, b.account_id, 5, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal) << r.error().code << ": " << r.error().message;  // never a 409
  EXPECT_TRUE(rec.groups.empty());
  EXPECT_EQ(ledger.GetAccount(a.account_id)->nonce, 0u);
  auto later = testing::Transfer(ledger, a, a.account_id, b.account_id, 5, 0);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, "store_failed");
}

}  // namespace
}  // namespace kray::state
