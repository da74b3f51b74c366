// The input log (src/state/input_log.h): its file format and, through the
// Ledger, what it makes durable and how a store that lost its last commits
// gets them back.
#include "../../../src/state/input_log.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "kray/state/op_context.h"
#include "kray/state/op_log.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {
namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::TempDir;

Bytes Payload(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

std::unique_ptr<InputLog> OpenLog(const std::string& path, std::size_t capacity = 1 << 16) {
  auto log = InputLog::Open(path, capacity);
  EXPECT_TRUE(log.ok()) << log.error().message;
  return log.ok() ? std::move(*log) : nullptr;
}

std::uint64_t AppendSynced(InputLog& log, const std::string& payload) {
  auto seq = log.Append(Payload(payload));
  EXPECT_TRUE(seq.ok() && seq->has_value());
  log.RequestSync();
  EXPECT_TRUE(log.WaitDurable(**seq).ok());
  return **seq;
}

std::vector<std::string> Payloads(const std::vector<InputLog::Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.emplace_back(r.payload.begin(), r.payload.end());
  return out;
}

TEST(InputLog, RecordsAreNumberedAndReadBackAfterReopen) {
  TempDir dir;
  const std::string path = dir.file("inputs.log");
  {
    auto log = OpenLog(path);
    ASSERT_TRUE(log);
    EXPECT_EQ(AppendSynced(*log, "one"), 1u);
    EXPECT_EQ(AppendSynced(*log, "two"), 2u);
    EXPECT_EQ(AppendSynced(*log, ""), 3u);
  }
  EXPECT_EQ(std::filesystem::file_size(path), 1u << 16);  // filled when created
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->last_seq(), 3u);
  auto records = log->TakeRecordsAfter(1);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].seq, 2u);
  EXPECT_EQ(Payloads(records), (std::vector<std::string>{"two", ""}));
  EXPECT_TRUE(log->TakeRecordsAfter(0).empty());  // taken once
  EXPECT_EQ(AppendSynced(*log, "four"), 4u);      // after the run it read
}

// A record cut short or changed (a write torn by a power failure) ends the
// log; what came before it stays.
TEST(InputLog, ADamagedRecordEndsTheLog) {
  TempDir dir;
  const std::string path = dir.file("inputs.log");
  {
    auto log = OpenLog(path);
    ASSERT_TRUE(log);
    AppendSynced(*log, "first");
    AppendSynced(*log, "second");
    AppendSynced(*log, "third");
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(24 + 5 + 24 + 2);  // a byte of the second record's payload
    f.put('X');
  }
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  EXPECT_EQ(Payloads(log->TakeRecordsAfter(0)), (std::vector<std::string>{"first"}));
  EXPECT_EQ(log->last_seq(), 1u);
}

// After a rewind the log is what was written since: the older records that
// follow in the file (lower seqs) are not read as part of it.
TEST(InputLog, RecordsFromBeforeARewindAreNotPartOfTheLog) {
  TempDir dir;
  const std::string path = dir.file("inputs.log");
  {
    auto log = OpenLog(path);
    ASSERT_TRUE(log);
    for (int i = 1; i <= 5; ++i) AppendSynced(*log, "old record " + std::to_string(i));
    log->Rewind();
    EXPECT_EQ(log->used(), 0u);
    AppendSynced(*log, "new 6");
  }
  {
    auto log = OpenLog(path);
    ASSERT_TRUE(log);
    EXPECT_EQ(Payloads(log->TakeRecordsAfter(0)), (std::vector<std::string>{"new 6"}));
    EXPECT_EQ(log->last_seq(), 6u);
    log->Rewind();  // nothing appended after: the file still starts with record 6
  }
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  auto records = log->TakeRecordsAfter(0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].seq, 6u);
}

TEST(InputLog, ARecordThatDoesNotFitIsRefusedUntilARewind) {
  TempDir dir;
  auto log = OpenLog(dir.file("inputs.log"), 100);
  ASSERT_TRUE(log);
  auto first = log->Append(Payload(std::string(50, 'a')));
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = log->Append(Payload(std::string(50, 'b')));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  log->Rewind();
  auto third = log->Append(Payload(std::string(50, 'c')));
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_EQ(**third, 2u);
}

TEST(InputLog, NumbersContinueAfterTheStoresPosition) {
  TempDir dir;
  auto log = OpenLog(dir.file("inputs.log"));
  ASSERT_TRUE(log);
  log->NumberAfter(41);
  EXPECT_EQ(AppendSynced(*log, "x"), 42u);
  log->NumberAfter(7);  // lower: ignored
  EXPECT_EQ(AppendSynced(*log, "y"), 43u);
}

// The file is read whole at open: one made larger than a node writes (an
// edited datadir) is refused, not read into memory.
TEST(InputLog, AFileLargerThanANodeWritesIsRefused) {
  TempDir dir;
  const std::string path = dir.file("inputs.log");
  { std::ofstream(path).put('x'); }
  std::filesystem::resize_file(path, std::uintmax_t{300} << 20);  // sparse: nothing is written
  auto log = InputLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find("larger than a node writes"), std::string::npos) << log.error().message;
  std::filesystem::resize_file(path, InputLog::kDefaultCapacity);  // a size it writes: opens
  EXPECT_TRUE(OpenLog(path, InputLog::kDefaultCapacity));
}

// After a sync, the sync thread watches awake for the next request only when
// the last one came within the window after the sync before it. (A window of
// a second: a quick request is seen in it even when the thread is preempted
// for most of a second on a loaded machine.)
TEST(InputLog, TheSyncThreadWatchesForTheNextRequestOfAQuickClientOnly) {
  using std::chrono::milliseconds;
  TempDir dir;
  auto log = InputLog::Open(dir.file("inputs.log"), 1 << 16, milliseconds(1000));
  ASSERT_TRUE(log.ok()) << log.error().message;
  InputLog& l = **log;
  const auto after = [&](milliseconds pause, const std::string& payload) {
    std::this_thread::sleep_for(pause);
    AppendSynced(l, payload);
    return l.syncs_seen_awake();
  };
  EXPECT_EQ(after(milliseconds(0), "first"), 0u);      // nothing before it: no watch after it
  EXPECT_EQ(after(milliseconds(50), "quick"), 0u);     // came while it slept; watched for after it
  EXPECT_EQ(after(milliseconds(1200), "late"), 0u);    // the watch ended first; none after it
  EXPECT_EQ(after(milliseconds(50), "sleeping"), 0u);  // not watched for
  EXPECT_EQ(after(milliseconds(50), "seen"), 1u);      // the one before was quick: seen awake
  EXPECT_EQ(after(milliseconds(50), "seen"), 2u);
}

TEST(InputLog, AStopEndsTheWatchAndAZeroWindowNeverWatches) {
  using std::chrono::milliseconds;
  TempDir dir;
  {
    auto log = InputLog::Open(dir.file("watching.log"), 1 << 16, std::chrono::seconds(30));
    ASSERT_TRUE(log.ok()) << log.error().message;
    AppendSynced(**log, "one");
    AppendSynced(**log, "two");  // quick: the thread now watches for 30 s
    std::this_thread::sleep_for(milliseconds(20));
    const auto started = std::chrono::steady_clock::now();
    log->reset();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  }
  auto log = InputLog::Open(dir.file("never.log"), 1 << 16, std::chrono::microseconds(0));
  ASSERT_TRUE(log.ok()) << log.error().message;
  for (int i = 0; i < 5; ++i) AppendSynced(**log, "quick");
  EXPECT_EQ((*log)->syncs_seen_awake(), 0u);
}

TEST(LoggedGroup, RoundTripsAndRefusesMalformedRecords) {
  LoggedGroup g;
  g.timestamp = 1'700'000'123;
  g.accept_legacy = false;
  g.submitted.type = "transfer";
  g.submitted.auth = Auth::kSigned;
  g.submitted.signer = "kray_abc";
  g.submitted.nonce = 9;
  g.submitted.scheme = SigScheme::kV1;
  g.submitted.signature = Bytes(64, 0x5a);
  g.submitted.fields = {{"amount", "5"}, {"to", "kray_def"}};
  Operation sys;
  sys.type = "expire";
  sys.auth = Auth::kSystem;
  sys.evidence = {{"height", "7"}};
  g.system_ops.push_back(sys);
  Bytes bytes = EncodeLoggedGroup(g);
  auto back = DecodeLoggedGroup(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->timestamp, g.timestamp);
  EXPECT_FALSE(back->accept_legacy);
  EXPECT_EQ(back->submitted.signer, "kray_abc");
  EXPECT_EQ(back->submitted.nonce, 9u);
  EXPECT_EQ(back->submitted.scheme, SigScheme::kV1);
  EXPECT_EQ(back->submitted.signature, g.submitted.signature);
  EXPECT_EQ(back->submitted.fields, g.submitted.fields);
  ASSERT_EQ(back->system_ops.size(), 1u);
  EXPECT_EQ(back->system_ops[0].auth, Auth::kSystem);
  EXPECT_EQ(back->system_ops[0].evidence, sys.evidence);

  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(DecodeLoggedGroup(ByteSpan(bytes.data(), cut)).ok()) << "cut at " << cut;
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(DecodeLoggedGroup(longer).ok());
  Bytes other_version = bytes;
  other_version[0] = 2;
  EXPECT_FALSE(DecodeLoggedGroup(other_version).ok());
}

// --- through the Ledger (synchronous=FULL: the log is used) ---

LedgerOptions Durable(const TempDir& dir, const std::string& datadir = "data") {
  LedgerOptions o = testing::Options(dir);
  o.datadir = dir.file(datadir);
  o.synchronous = "FULL";
  return o;
}

Operation SignedTransfer(const Ledger& ledger, const Key& from, const Key& to, Amount amount, std::uint64_t nonce) {
  auto op = test::SignOperation(ledger.params(), ledger.registry(),
                                test::TransferRequest(from.account_id, to.account_id, amount, nonce), from);
  EXPECT_TRUE(op.ok());
  return op.ok() ? *op : Operation{};
}

// As the HTTP handlers submit: applied on the caller's thread when idle.
Result<Receipt> SubmitIdle(Ledger& ledger, Operation op) {
  std::optional<Result<Receipt>> got;
  ledger.Submit(
      std::move(op), [&](Result<Receipt> r) { got.emplace(std::move(r)); }, ApplyOn::kCallerIfIdle);
  EXPECT_TRUE(got.has_value()) << "not answered before Submit returned";
  return got ? std::move(*got) : Result<Receipt>(Error::Internal("no answer"));
}

std::int64_t Counter(Ledger& ledger, const std::string& name) {
  std::int64_t v = -1;
  EXPECT_TRUE(ledger
                  .WithReader([&](store::Database& db) -> Status {
                    auto q = store::QueryInt(db, "SELECT value FROM counters WHERE name = '" + name + "'", -1);
                    if (!q.ok()) return std::move(q).error();
                    v = *q;
                    return Ok();
                  })
                  .ok());
  return v;
}

const ModuleRegistry& Registry() {
  static const ModuleRegistry r;
  return r;
}

// Credits one KRAY from nothing, as the operator or as the node: what a
// forged record would like the replay to apply.
class CreditOp : public OperationType {
 public:
  CreditOp(std::string name, Auth auth) : name_(std::move(name)), auth_(auth) {}
  std::string_view name() const override { return name_; }
  Auth auth() const override { return auth_; }
  std::span<const FieldSpec> fields() const override { return kFields; }
  Status Apply(OpContext& ctx, const Operation& op) const override {
    return ctx.Credit(std::string(*op.Field("account")), "KRAY", Bucket::kAvailable, 1);
  }

 private:
  std::string name_;
  Auth auth_;
  static constexpr std::array<FieldSpec, 1> kFields = {{{"account", FieldKind::kAccount}}};
};

class CreditModule : public Module {
 public:
  std::string_view name() const override { return "test_credit"; }
  std::vector<const OperationType*> operations() const override { return {&by_operator_, &by_node_}; }

 private:
  CreditOp by_operator_{"test_operator_credit", Auth::kOperator};
  CreditOp by_node_{"test_system_credit", Auth::kSystem};
};

const ModuleRegistry& CreditRegistry() {
  static const ModuleRegistry r = [] {
    ModuleRegistry reg;
    static CreditModule credit;
    EXPECT_TRUE(reg.Add(credit).ok());
    return reg;
  }();
  return r;
}

Amount Balance(Ledger& ledger, const Key& who) {
  auto a = ledger.GetAccount(who.account_id);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  return a.ok() ? a->BalanceOf("KRAY").available : 0;
}

using testing::ExpectConserved;

// A copy of a stopped node's datadir.
void CopyDatadir(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

// Every logged group commits the store's input position, a refused
// operation's too: the record is then never applied again.
TEST(LedgerInputLog, EveryLoggedGroupCommitsItsPosition) {
  TempDir dir;
  auto l = Ledger::Open(Durable(dir), Registry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  Ledger& ledger = **l;
  Key a = Dev1(), b = Dev2();
  auto r = SubmitIdle(ledger, SignedTransfer(ledger, a, b, 5, 0));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::int64_t after_first = Counter(ledger, "input_seq");
  EXPECT_GT(after_first, 0);
  auto refused = SubmitIdle(ledger, SignedTransfer(ledger, a, b, 5, 0));  // nonce used: refused as applied
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(Counter(ledger, "input_seq"), after_first + 1);
  Operation forged = SignedTransfer(ledger, a, b, 5, 1);
  forged.signature[0] ^= 1;
  auto unchecked = SubmitIdle(ledger, std::move(forged));  // refused before its group: nothing to apply
  ASSERT_FALSE(unchecked.ok());
  EXPECT_EQ(unchecked.error().code, "invalid_signature");
  EXPECT_EQ(Counter(ledger, "input_seq"), after_first + 2);
}

// A power failure after the answer: the store lost its last commits (made
// without a sync), the log has their records. Simulated with a copy of the
// datadir taken before those commits, given the later log: the next open
// applies them again, with the same seqs, ids, timestamps and balances.
TEST(LedgerInputLog, AnsweredGroupsTheStoreLostAreAppliedAgainAtOpen) {
  TempDir dir;
  Key a = Dev1(), b = Dev2();
  std::vector<Receipt> answered;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    auto r = SubmitIdle(**l, SignedTransfer(**l, a, b, 100, 0));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  CopyDatadir(dir.file("data"), dir.file("before"));  // the store as the disk kept it
  Amount a_after = 0, b_after = 0;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    for (std::uint64_t nonce = 1; nonce <= 3; ++nonce) {
      auto r = SubmitIdle(**l, SignedTransfer(**l, a, b, 10 * nonce, nonce));
      ASSERT_TRUE(r.ok()) << r.error().message;
      answered.push_back(*r);
    }
    EXPECT_FALSE(SubmitIdle(**l, SignedTransfer(**l, a, b, 1, 1)).ok());  // refused: nonce used
    a_after = Balance(**l, a);
    b_after = Balance(**l, b);
  }
  std::filesystem::copy_file(dir.file("data/inputs.log"), dir.file("before/inputs.log"),
                             std::filesystem::copy_options::overwrite_existing);

  auto l = Ledger::Open(Durable(dir, "before"), Registry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  Ledger& ledger = **l;
  for (const Receipt& r : answered) {
    auto found = ledger.GetOperation(r.op->hash);
    ASSERT_TRUE(found.ok()) << "answered " << r.op->hash << " lost: " << found.error().message;
    EXPECT_EQ(found->op.seq, r.op->seq);
    EXPECT_EQ(found->op.timestamp, r.op->timestamp);
  }
  EXPECT_EQ(Balance(ledger, a), a_after);
  EXPECT_EQ(Balance(ledger, b), b_after);
  auto account = ledger.GetAccount(a.account_id);
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->nonce, 4u);
  ExpectConserved(ledger);
  EXPECT_EQ(ledger.metrics().input_records_replayed.value(), 4u);  // the refused one too, refused again
  // Applied once: opening again applies nothing more.
  l = Result<std::unique_ptr<Ledger>>(Error::Internal("closed"));
  auto again = Ledger::Open(Durable(dir, "before"), Registry());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(Balance(**again, a), a_after);
  auto stats = (*again)->GetTxStats();
  ASSERT_TRUE(stats.ok());
}

// A record is an input like any other: replayed, it passes the same checks.
// One whose signature was changed (by whoever can write the datadir) is not
// applied; the node opens, and a genuine record written the same way is.
TEST(LedgerInputLog, AReplayedRecordIsCheckedAsWhenItArrived) {
  TempDir dir;
  Key a = Dev1(), b = Dev2();
  std::int64_t ts = 0;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ts = (*l)->Now();
  }
  Amount b_before = 0;
  Operation genuine, forged;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok());
    b_before = Balance(**l, b);
    genuine = SignedTransfer(**l, a, b, 7, 0);
    forged = SignedTransfer(**l, a, b, 900, 1);
    forged.signature[5] ^= 1;
  }
  {
    auto log = OpenLog(dir.file("data/inputs.log"), InputLog::kDefaultCapacity);
    ASSERT_TRUE(log);
    log->TakeRecordsAfter(UINT64_MAX);
    for (const Operation* op : {&genuine, &forged}) {
      LoggedGroup g;
      g.timestamp = ts;
      g.submitted = *op;
      ASSERT_TRUE(log->Append(EncodeLoggedGroup(g)).ok());
    }
    log->RequestSync();
    ASSERT_TRUE(log->WaitDurable(log->last_seq()).ok());
  }
  auto l = Ledger::Open(Durable(dir), Registry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(Balance(**l, b), b_before + 7);
  auto account = (*l)->GetAccount(a.account_id);
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->nonce, 1u);  // the genuine one only
  ExpectConserved(**l);
}

// What the replay applies is a submitter's operation and the system
// operations the modules find due, never an operation the record names for
// the operator or the node: a record is not a way around the operator's
// token or the modules' rules. The operator's own operations are not logged.
TEST(LedgerInputLog, ARecordCannotMakeTheReplayApplyAnOperatorsOrTheNodesOperation) {
  TempDir dir;
  Key a = Dev1(), b = Dev2();
  Amount b_before = 0;
  Operation genuine;
  std::int64_t ts = 0;
  {
    auto l = Ledger::Open(Durable(dir), CreditRegistry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    OperationRequest credit;
    credit.type = "test_operator_credit";
    credit.auth = Auth::kOperator;
    credit.fields = {{"account", b.account_id}};
    std::optional<Result<Receipt>> got;
    (*l)->SubmitRequest(
        credit, [&](Result<Receipt> r) { got.emplace(std::move(r)); }, ApplyOn::kCallerIfIdle);
    ASSERT_TRUE(got && got->ok()) << (got ? got->error().message : "no answer");
    EXPECT_EQ((*l)->metrics().logged_groups.value(), 0u) << "the operator's operation was logged";
    b_before = Balance(**l, b);
    genuine = SignedTransfer(**l, a, b, 7, 0);
    ts = (*l)->Now();
  }
  {
    auto log = OpenLog(dir.file("data/inputs.log"), InputLog::kDefaultCapacity);
    ASSERT_TRUE(log);
    log->TakeRecordsAfter(UINT64_MAX);
    LoggedGroup by_operator;
    by_operator.timestamp = ts;
    by_operator.submitted.type = "test_operator_credit";
    by_operator.submitted.auth = Auth::kOperator;
    by_operator.submitted.fields = {{"account", b.account_id}};
    LoggedGroup with_system_op;
    with_system_op.timestamp = ts;
    with_system_op.submitted = genuine;
    Operation sys;
    sys.type = "test_system_credit";
    sys.auth = Auth::kSystem;
    sys.fields = {{"account", b.account_id}};
    with_system_op.system_ops.push_back(sys);
    for (const LoggedGroup* g : {&by_operator, &with_system_op}) ASSERT_TRUE(log->Append(EncodeLoggedGroup(*g)).ok());
    log->RequestSync();
    ASSERT_TRUE(log->WaitDurable(log->last_seq()).ok());
  }
  auto l = Ledger::Open(Durable(dir), CreditRegistry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ((*l)->metrics().input_records_replayed.value(), 2u);
  EXPECT_EQ(Balance(**l, b), b_before + 7);  // the transfer; neither credit
}

// Submitters racing for the idle sequencer: each request is logged or
// queued, none is lost or applied twice, and a clean stop leaves nothing to
// apply again.
TEST(LedgerInputLog, RacingSubmittersAreEachLoggedOrQueued) {
  TempDir dir;
  Key a = Dev1(), b = Dev2();
  constexpr std::uint64_t kEach = 60;
  Amount a_after = 0, b_after = 0;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    Ledger& ledger = **l;
    std::atomic<int> failed{0};
    auto send = [&](const Key& from, const Key& to) {
      for (std::uint64_t nonce = 0; nonce < kEach; ++nonce) {
        std::promise<Result<Receipt>> answer;
        auto got = answer.get_future();
        ledger.Submit(
            SignedTransfer(ledger, from, to, 3, nonce), [&](Result<Receipt> r) { answer.set_value(std::move(r)); },
            ApplyOn::kCallerIfIdle);
        if (!got.get().ok()) ++failed;
      }
    };
    std::thread t1(send, a, b), t2(send, b, a);
    t1.join();
    t2.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_GT(ledger.metrics().logged_groups.value(), 0u);
    auto stats = ledger.GetTxStats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->total, 2 * kEach);
    ExpectConserved(ledger);
    a_after = Balance(ledger, a);
    b_after = Balance(ledger, b);
  }
  auto l = Ledger::Open(Durable(dir), Registry());
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ((*l)->metrics().input_records_replayed.value(), 0u);
  EXPECT_EQ(Balance(**l, a), a_after);
  EXPECT_EQ(Balance(**l, b), b_after);
}

// The log's records must continue the store's: a gap (records the store
// never held are missing) is refused with a clear error, not skipped.
TEST(LedgerInputLog, ALogThatSkipsRecordsIsRefused) {
  TempDir dir;
  Key a = Dev1(), b = Dev2();
  Operation op;
  std::int64_t ts = 0;
  {
    auto l = Ledger::Open(Durable(dir), Registry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    op = SignedTransfer(**l, a, b, 7, 0);
    ts = (*l)->Now();
  }
  {
    auto log = OpenLog(dir.file("data/inputs.log"), InputLog::kDefaultCapacity);
    ASSERT_TRUE(log);
    log->TakeRecordsAfter(UINT64_MAX);
    log->NumberAfter(log->last_seq() + 5);
    LoggedGroup g;
    g.timestamp = ts;
    g.submitted = op;
    ASSERT_TRUE(log->Append(EncodeLoggedGroup(g)).ok());
    log->RequestSync();
    ASSERT_TRUE(log->WaitDurable(log->last_seq()).ok());
  }
  auto l = Ledger::Open(Durable(dir), Registry());
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("records are missing"), std::string::npos) << l.error().message;
}

}  // namespace
}  // namespace kray::state
