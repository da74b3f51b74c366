// The history index (src/state/history_index.h) through the Ledger's reads:
// accounts' histories and operations by id, whether the index has reached
// an operation or the read takes it from the log's tail.
#include "../../../src/state/history_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../../src/store/wal_vfs.h"
#include "kray/crypto/hash.h"
#include "kray/state/core_module.h"
#include "kray/state/leaves.h"
#include "kray/state/op_log.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {

std::span<const store::Migration> CoreMigrations();
std::span<const store::Migration> HistoryMigrations();

namespace {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::TempDir;

constexpr int kNever = 3600 * 1000;  // a history interval no test outlasts

// An id no operation has.
std::string UnknownId(int i) {
  const std::string seed = "unknown " + std::to_string(i);
  return ToHex(crypto::Sha256(ByteSpan(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size())));
}

class HistoryIndexTest : public ::testing::Test {
 protected:
  void Open(int interval_ms = kNever, std::uint64_t max_tail = 100000, int write_intervals = 40,
            int generation_bits = HistoryIndex::kGenerationBits) {
    ledger_.reset();
    auto o = testing::Options(dir_);
    o.history_interval_ms = interval_ms;
    o.history_max_tail = max_tail;
    o.history_write_intervals = write_intervals;
    o.history_generation_bits = generation_bits;
    auto l = Ledger::Open(o, CoreOnlyRegistry());
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    // The index's first pass (catching up with the log) runs on its thread;
    // the tests' tails start after it.
    for (int i = 0; i < 500 && ledger_->history_index_status().passes == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GE(ledger_->history_index_status().passes, 1u);
  }
  static const ModuleRegistry& CoreOnlyRegistry() {
    static const ModuleRegistry r;
    return r;
  }
  Receipt Send(Amount amount, std::uint64_t nonce) {
    auto r = testing::Transfer(*ledger_, a_, a_.account_id, b_.account_id, amount, nonce);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (r.ok()) return *r;
    Receipt none;
    none.op = std::make_shared<const Operation>();
    return none;
  }
  std::string HistoryPath() const { return dir_.file("data") + "/history.sqlite"; }
  std::uint64_t IndexedSeq() {
    store::OpenOptions ro;
    ro.read_only = true;
    auto db = store::Database::Open(HistoryPath(), ro);
    EXPECT_TRUE(db.ok());
    return db.ok() ? static_cast<std::uint64_t>(*store::QueryInt(**db, "SELECT indexed_seq FROM history_state")) : 0;
  }
  // The index's first pass after a start runs on its thread.
  void WaitIndexed(std::uint64_t seq) {
    for (int i = 0; i < 500 && IndexedSeq() < seq; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(IndexedSeq(), seq);
  }
  std::int64_t QueryHistory(const std::string& sql) {
    store::OpenOptions ro;
    ro.read_only = true;
    auto db = store::Database::Open(HistoryPath(), ro);
    EXPECT_TRUE(db.ok());
    auto v = db.ok() ? store::QueryInt(**db, sql) : Result<std::int64_t>(Error::Internal("no file"));
    EXPECT_TRUE(v.ok()) << sql;
    return v.ok() ? *v : -1;
  }
  // Each sent operation is found by its id, at its seq.
  void ExpectFoundById(const std::vector<Receipt>& sent) {
    for (const auto& r : sent) {
      auto found = ledger_->GetOperation(r.op->hash);
      ASSERT_TRUE(found.ok()) << r.op->hash << ": " << found.error().message;
      EXPECT_EQ(found->op.seq, r.op->seq);
      EXPECT_FALSE(found->pending);
    }
  }
  // Sends n transfers, restarts so that the index's first pass writes them
  // to its file, and waits for that pass.
  std::vector<Receipt> SendIndexed(std::uint64_t n, int generation_bits = HistoryIndex::kGenerationBits,
                                   std::uint64_t max_tail = 100000) {
    Open(kNever, max_tail, 40, generation_bits);
    std::vector<Receipt> sent;
    for (std::uint64_t i = 0; i < n; ++i) sent.push_back(Send(100 + i, i));
    Open(kNever, max_tail, 40, generation_bits);
    WaitIndexed(n);
    return sent;
  }
  // c's account_create (seq 1), then n transfers a -> b (seqs 2..n+1),
  // indexed by the first pass of a start, as SendIndexed does.
  std::vector<Receipt> SendIndexedAfterCreatingC(std::uint64_t n, int generation_bits) {
    Open(kNever, /*max_tail=*/0, 40, generation_bits);
    std::vector<Receipt> sent;
    const Key c = test::DevAccount(3);
    OperationRequest create;
    create.type = std::string(kAccountCreateOp);
    create.auth = Auth::kPublic;
    create.fields = {{"l1_address", c.address}, {"pubkey", ToHex(c.pub)}};
    auto created = ledger_->SubmitRequestSync(create);
    EXPECT_TRUE(created.ok()) << created.error().message;
    if (created.ok()) sent.push_back(*created);
    for (std::uint64_t i = 0; i < n; ++i) sent.push_back(Send(100 + i, i));
    Open(kNever, /*max_tail=*/0, 40, generation_bits);
    WaitIndexed(n + 1);
    return sent;
  }
  // Three transfers a -> b, then the index's file replaced by one of the
  // first `migrations` layouts claiming the whole log, with `rows` (SQL)
  // in it. Returns the transfers.
  std::vector<Receipt> SendAndWriteAnOlderLayout(std::size_t migrations, const std::string& rows) {
    Open();
    std::vector<Receipt> sent;
    for (std::uint64_t n = 0; n < 3; ++n) sent.push_back(Send(100 + n, n));
    ledger_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(HistoryPath() + suffix);
    auto db = store::Database::Open(HistoryPath());
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return sent;
    EXPECT_TRUE((*db)->Migrate("history", HistoryMigrations().first(migrations)).ok());
    if (!rows.empty()) {
      EXPECT_TRUE((*db)->Exec(rows).ok()) << rows;
    }
    auto st = (*db)->Prepare("UPDATE history_state SET indexed_seq = 3, indexed_hash = ?1");
    EXPECT_TRUE(st.ok());
    if (st.ok()) {
      st->BindBlob(1, *FromHex(sent[2].op->hash));
      EXPECT_TRUE(st->Run().ok());
    }
    return sent;
  }
  // Runs `sql` on the index's file, as a tool editing it would.
  void EditHistory(const std::string& sql) {
    auto db = store::Database::Open(HistoryPath());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
  // Generations of the file that 100 lookups of unknown ids probed (each
  // must answer tx_not_found).
  std::uint64_t ProbesForUnknownIds() {
    const std::uint64_t before = ledger_->history_index_status().id_probes;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(ledger_->GetOperation(UnknownId(i)).error().code, "tx_not_found");
    return ledger_->history_index_status().id_probes - before;
  }
  // Generations of the file that reading `who`'s count and first page
  // probed.
  std::uint64_t AccountReadProbes(const std::string& who) {
    const std::uint64_t before = ledger_->history_index_status().account_probes;
    EXPECT_TRUE(ledger_->GetAccountStats(who).ok());
    EXPECT_TRUE(ledger_->AccountOperations(who, 0, 10, 0).ok());
    return ledger_->history_index_status().account_probes - before;
  }
  std::vector<std::uint64_t> HistorySeqs(std::uint64_t before, int limit, int offset) {
    auto ops = ledger_->AccountOperations(b_.account_id, before, limit, offset);
    EXPECT_TRUE(ops.ok()) << ops.error().message;
    std::vector<std::uint64_t> seqs;
    if (ops.ok())
      for (const auto& op : *ops) seqs.push_back(op.seq);
    return seqs;
  }
  void ExpectConserved() { testing::ExpectConserved(*ledger_); }

  TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  Key a_ = Dev1(), b_ = Dev2();
  std::string c_ = test::DevAccount(3).account_id;
};

// A client reads its transfer right after the API confirmed it, long before
// the index's next pass.
TEST_F(HistoryIndexTest, ReadsSeeOperationsTheIndexHasNotReached) {
  Open();
  std::vector<Receipt> sent;
  for (std::uint64_t n = 0; n < 4; ++n) sent.push_back(Send(100 + n, n));
  EXPECT_EQ(IndexedSeq(), 0u);  // all four are in the log's tail
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{4, 3, 2, 1}));
  auto found = ledger_->GetOperation(sent[2].op->hash);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->op.seq, 3u);
  EXPECT_FALSE(found->pending);
  EXPECT_EQ(ledger_->GetOperation(std::string(64, 'a')).error().code, "tx_not_found");
  auto stats = ledger_->GetAccountStats(b_.account_id);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tx_count, 4u);
  EXPECT_EQ(stats->received_count, 4u);
  ExpectConserved();
}

// Part indexed, part in the tail: pages and cursors cross the boundary.
TEST_F(HistoryIndexTest, ReadsMergeTheIndexWithTheTail) {
  Open();
  std::vector<Receipt> sent;
  for (std::uint64_t n = 0; n < 3; ++n) sent.push_back(Send(100 + n, n));
  Open();  // the start's pass indexes seqs 1-3
  WaitIndexed(3);
  for (std::uint64_t n = 3; n < 5; ++n) sent.push_back(Send(100 + n, n));
  EXPECT_EQ(IndexedSeq(), 3u);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(HistorySeqs(0, 2, 1), (std::vector<std::uint64_t>{4, 3}));
  EXPECT_EQ(HistorySeqs(5, 2, 0), (std::vector<std::uint64_t>{4, 3}));
  EXPECT_EQ(HistorySeqs(4, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(HistorySeqs(0, 3, 2), (std::vector<std::uint64_t>{3, 2, 1}));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto found = ledger_->GetOperation(sent[i].op->hash);
    ASSERT_TRUE(found.ok()) << i;
    EXPECT_EQ(found->op.seq, i + 1);
  }
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 5u);
  EXPECT_EQ(ledger_->GetAccountStats(a_.account_id)->sent_count, 5u);
  ExpectConserved();
}

// With its default interval the thread follows the log by itself.
TEST_F(HistoryIndexTest, TheThreadFollowsTheLog) {
  Open(/*interval_ms=*/10);
  for (std::uint64_t n = 0; n < 6; ++n) Send(1, n);
  WaitIndexed(6);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{6, 5, 4, 3, 2, 1}));
  ExpectConserved();
}

// What the thread has read from the log but not yet written to its file is
// served from memory: with no tail allowed (max_tail 0), reads that had to
// scan the log would refuse.
TEST_F(HistoryIndexTest, ReadsTakeWhatTheIndexReadButDidNotWriteFromMemory) {
  Open(/*interval_ms=*/5, /*max_tail=*/0, /*write_intervals=*/1000000);
  std::vector<Receipt> sent;
  for (std::uint64_t n = 0; n < 4; ++n) sent.push_back(Send(100 + n, n));
  bool served = false;
  for (int i = 0; i < 500 && !served; ++i) {
    auto stats = ledger_->GetAccountStats(b_.account_id);
    served = stats.ok() && stats->tx_count == 4;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(served);
  EXPECT_EQ(IndexedSeq(), 0u);  // the file has none of them
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{4, 3, 2, 1}));
  EXPECT_EQ(HistorySeqs(4, 2, 0), (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(HistorySeqs(0, 2, 1), (std::vector<std::uint64_t>{3, 2}));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto found = ledger_->GetOperation(sent[i].op->hash);
    ASSERT_TRUE(found.ok()) << i << ": " << found.error().message;
    EXPECT_EQ(found->op.seq, i + 1);
  }
  EXPECT_EQ(ledger_->GetOperation(std::string(64, 'a')).error().code, "tx_not_found");
  EXPECT_EQ(ledger_->GetAccountStats(a_.account_id)->sent_count, 4u);
  // After a restart the memory is gone: the start's pass writes the file.
  Open(kNever, 0);
  EXPECT_EQ(IndexedSeq(), 4u);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{4, 3, 2, 1}));
  ExpectConserved();
}

// Reads racing the thread's writes (rows moving from memory to the file)
// neither miss an operation nor count one twice: every operation here
// touches b, so its history is always 1..k, and k never goes back.
TEST_F(HistoryIndexTest, ReadsRacingWritesNeitherMissNorRepeat) {
  Open(/*interval_ms=*/1, /*max_tail=*/100000, /*write_intervals=*/2);
  std::atomic<bool> done{false};
  std::string failure;
  std::thread reader([&] {
    std::uint64_t last_count = 0;
    while (!done.load() && failure.empty()) {
      auto stats = ledger_->GetAccountStats(b_.account_id);
      auto ops = ledger_->AccountOperations(b_.account_id, 0, 1000, 0);
      if (!stats.ok() || !ops.ok()) {
        failure = "read failed";
        break;
      }
      if (stats->tx_count < last_count) failure = "count went back to " + std::to_string(stats->tx_count);
      // The history is read after the count, so it holds at least as many.
      if (ops->size() < stats->tx_count)
        failure = "count " + std::to_string(stats->tx_count) + " over a history of " + std::to_string(ops->size());
      last_count = stats->tx_count;
      for (std::size_t i = 0; i < ops->size(); ++i) {
        if ((*ops)[i].seq != ops->size() - i) failure = "history is not contiguous at " + std::to_string(i);
      }
    }
  });
  for (std::uint64_t n = 0; n < 300; ++n) Send(1, n);
  for (int i = 0; i < 500 && IndexedSeq() < 300; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  done = true;
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(IndexedSeq(), 300u);
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 300u);
  EXPECT_EQ(HistorySeqs(0, 1000, 0).size(), 300u);
  ExpectConserved();
}

// A pass hands its WAL frames to the kernel in a few large writes (the
// store's batching VFS, src/store/wal_vfs.h), as the sequencer and the rollup
// do: unbatched, every frame was two pwrite calls, ~11,000 a second from this
// thread alone at 50 connections (docs/BENCHMARKS.md, seventeenth round).
TEST_F(HistoryIndexTest, APassWritesItsFramesInFewWrites) {
  Open();
  for (std::uint64_t n = 0; n < 400; ++n) Send(1, n);
  ledger_.reset();
  // The index alone, so that the counts are its own writes.
  auto index = HistoryIndex::Open(HistoryPath(), dir_.file("data") + "/krayd.sqlite", kNever);
  ASSERT_TRUE(index.ok()) << index.error().message;
  ASSERT_EQ((*index)->indexed_seq(), 0u);
  const store::WalWriteCounts before = store::WalWriteCountsNow();
  (*index)->Start();  // its first pass indexes the 400 transfers
  for (int i = 0; i < 500 && (*index)->indexed_seq() < 400; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  (*index)->Stop();
  const store::WalWriteCounts after = store::WalWriteCountsNow();
  ASSERT_EQ((*index)->indexed_seq(), 400u);
  const std::uint64_t requested = after.requested - before.requested;
  const std::uint64_t issued = after.issued - before.issued;
  EXPECT_GE(requested, 20u);  // the pass's frames went through the batching VFS
  EXPECT_LE(issued * 4, requested) << issued << " of " << requested;
}

// Six transfers a -> b in the log (seqs 1..6), the ledger closed, and an
// index that read them all from the log (`from_log_`). Each test hands the
// committed groups to an index of its own that has not started, as the
// sequencer would, and compares its answers with `from_log_`'s.
class HistoryFromGroupsTest : public HistoryIndexTest {
 protected:
  void SetUp() override {
    Open();
    for (std::uint64_t n = 0; n < 6; ++n) sent_.push_back(Send(100 + n, n));
    ledger_.reset();
    from_log_ = OpenIndex("from_log.sqlite");
    ASSERT_TRUE(from_log_);
    ASSERT_NO_FATAL_FAILURE(StartAndWait(*from_log_));
    ASSERT_EQ(from_log_->read_from_log(), 6u);
  }
  std::unique_ptr<HistoryIndex> OpenIndex(const std::string& file) {
    auto index = HistoryIndex::Open(dir_.file(file), dir_.file("data") + "/krayd.sqlite", kNever);
    EXPECT_TRUE(index.ok()) << index.error().message;
    return index.ok() ? std::move(*index) : nullptr;
  }
  // A new index at `file` handed `groups` before its start: it takes
  // `taken` operations from them and reads `from_log` from the log, and
  // answers as from_log_ does.
  void ExpectIndexed(const std::vector<std::shared_ptr<const GroupChanges>>& groups, std::uint64_t taken,
                     std::uint64_t from_log, const std::string& file = "from_groups.sqlite") {
    auto index = OpenIndex(file);
    ASSERT_TRUE(index);
    for (const auto& g : groups) index->OnGroupCommitted(g);
    ASSERT_NO_FATAL_FAILURE(StartAndWait(*index));
    EXPECT_EQ(index->taken_from_groups(), taken);
    EXPECT_EQ(index->read_from_log(), from_log);
    ExpectSameAnswers(*index, *from_log_);
  }
  // The sent operations [first, last) as one committed group, with the
  // leaves they changed and their keys as the sequencer lists them (or
  // without: the index then makes the keys itself).
  std::shared_ptr<const GroupChanges> Group(std::size_t first, std::size_t last, bool with_leaves = true) const {
    auto g = std::make_shared<GroupChanges>();
    for (std::size_t i = first; i < last; ++i) {
      g->operations.push_back(sent_[i].op);
      for (const auto& leaf : sent_[i].op->touched) {
        const bool listed =
            std::any_of(g->leaves.begin(), g->leaves.end(), [&](const LeafChange& c) { return c.id == leaf; });
        if (with_leaves && !listed) g->leaves.push_back(LeafChange{leaf, LeafKey(leaf.type, leaf.id), std::nullopt});
      }
    }
    return g;
  }
  // Starts the index; its first pass ends with everything written.
  static void StartAndWait(HistoryIndex& index) {
    index.Start();
    for (int i = 0; i < 500 && index.indexed_seq() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(index.indexed_seq(), 6u);
  }
  // The index answers every read as one that read the whole log does.
  void ExpectSameAnswers(HistoryIndex& index, HistoryIndex& from_log) {
    for (const auto& r : sent_) {
      const Hash256 id = *FromHexFixed<32>(r.op->hash);
      auto found = index.FindHash(id), expected = from_log.FindHash(id);
      ASSERT_TRUE(found.ok() && expected.ok());
      EXPECT_EQ(found->seqs, expected->seqs);
      EXPECT_EQ(found->seqs, std::vector<std::uint64_t>{r.op->seq});
    }
    for (const auto& who : {a_.account_id, b_.account_id, c_}) {
      const Hash256 key = AccountKey(who);
      EXPECT_EQ(index.AccountSeqs(key, 0, 10)->seqs, from_log.AccountSeqs(key, 0, 10)->seqs) << who;
      EXPECT_EQ(index.CountAccount(key)->count, from_log.CountAccount(key)->count) << who;
    }
    EXPECT_EQ(index.AccountSeqs(AccountKey(b_.account_id), 0, 10)->seqs,
              (std::vector<std::uint64_t>{6, 5, 4, 3, 2, 1}));
  }
  std::vector<Receipt> sent_;
  std::unique_ptr<HistoryIndex> from_log_;
};

// Groups that continue the index's position are taken from memory, not
// read back from the log, and index the same rows.
TEST_F(HistoryFromGroupsTest, GroupsThatContinueThePositionAreNotReadFromTheLog) {
  ExpectIndexed({Group(0, 2), Group(2, 4, /*with_leaves=*/false), Group(4, 6)}, 6, 0);
}

// After a gap (groups the index never got) it reads the log, from its own
// position: nothing is skipped, nothing taken twice.
TEST_F(HistoryFromGroupsTest, AGapIsReadFromTheLog) {
  ExpectIndexed({Group(0, 2), Group(4, 6)}, 2, 4);  // 3 and 4 missing
}

// Past kMaxArrivedOperations waiting, the groups are dropped (the index is
// behind) and the log read instead: memory stays bounded.
TEST_F(HistoryFromGroupsTest, TooManyWaitingGroupsAreDroppedForTheLog) {
  const std::vector groups(HistoryIndex::kMaxArrivedOperations / 6 + 1, Group(0, 6));
  ExpectIndexed(groups, 0, 6);
}

// A null or empty change set only wakes the thread.
TEST_F(HistoryFromGroupsTest, AnEmptyChangeSetOnlyWakesTheThread) {
  ExpectIndexed({nullptr, std::make_shared<GroupChanges>()}, 0, 6);
}

// A group the index has already taken (handed twice) is skipped, not a gap.
TEST_F(HistoryFromGroupsTest, AGroupAlreadyTakenIsSkipped) {
  ExpectIndexed({Group(0, 2), Group(0, 2), Group(2, 6)}, 6, 0);
}

// A group whose operations do not follow one another, or whose id is not
// hex, is not taken: the log decides, from the last group taken.
TEST_F(HistoryFromGroupsTest, AGroupThatIsNotWhatTheLogHoldsIsReadFromTheLog) {
  auto out_of_order = std::make_shared<GroupChanges>(*Group(2, 5));
  std::swap(out_of_order->operations[1], out_of_order->operations[2]);  // seqs 3, 5, 4
  ExpectIndexed({Group(0, 2), out_of_order, Group(5, 6)}, 2, 4, "out_of_order.sqlite");
  auto bad_id = std::make_shared<GroupChanges>(*Group(2, 5));
  auto op = std::make_shared<Operation>(*bad_id->operations[1]);
  op->hash = std::string(64, 'z');
  bad_id->operations[1] = op;
  ExpectIndexed({Group(0, 2), bad_id, Group(5, 6)}, 2, 4, "bad_id.sqlite");
}

// An index whose position does not match the log (a replaced krayd.sqlite,
// an edited file) is emptied and rebuilt, not trusted.
TEST_F(HistoryIndexTest, AnIndexThatDoesNotMatchTheLogIsRebuilt) {
  SendIndexed(3);
  ledger_.reset();
  EditHistory("DELETE FROM account_ops; UPDATE history_state SET indexed_hash = zeroblob(32)");
  Open();
  WaitIndexed(3);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  ExpectConserved();
}

// A position rewound by hand with the rows after it kept (it names an
// operation of the log, with its id) is rebuilt too: else the thread would
// write those rows again and fail forever, and reads would count them
// twice.
TEST_F(HistoryIndexTest, AnIndexWithRowsPastItsPositionIsRebuilt) {
  const auto sent = SendIndexed(6);
  ledger_.reset();
  EditHistory("UPDATE history_state SET indexed_seq = 3, indexed_hash = X'" + sent[2].op->hash + "'");
  Open(/*interval_ms=*/10);
  WaitIndexed(6);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 6u);
  EXPECT_EQ(ledger_->history_index_status().passes_failed, 0u);
  ExpectFoundById(sent);
  ExpectConserved();
}

// Position 0 means an empty index: rows an edited file kept there would make
// every pass fail on a repeated id.
TEST_F(HistoryIndexTest, AnIndexAtPositionZeroStartsEmpty) {
  SendIndexed(2);
  ledger_.reset();
  EditHistory("UPDATE history_state SET indexed_seq = 0, indexed_hash = NULL");
  Open();
  WaitIndexed(2);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{2, 1}));
  EXPECT_EQ(ledger_->history_index_status().passes_failed, 0u);
  ExpectConserved();
}

// A file that is not a database (or a damaged one) does not keep the node
// down: it is moved aside and the index rebuilt from the log.
TEST_F(HistoryIndexTest, AnUnreadableIndexFileIsMovedAsideAndRebuilt) {
  Open();
  for (std::uint64_t n = 0; n < 3; ++n) Send(100 + n, n);
  ledger_.reset();
  {
    std::ofstream garbage(HistoryPath(), std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 20000; ++i) garbage.put(static_cast<char>(i * 7919 % 251));
  }
  Open();
  WaitIndexed(3);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_TRUE(std::filesystem::exists(HistoryPath() + ".damaged"));
  ExpectConserved();
}

// Rows the log contradicts (an edited file whose position still matches)
// are not served: an id never answers with another operation, a history
// never lists an operation that did not touch the account.
TEST_F(HistoryIndexTest, IndexRowsTheLogContradictsAreIgnored) {
  const std::vector<Receipt> sent = SendIndexed(3);
  ledger_.reset();
  const std::string stranger = test::DevAccount(3).account_id;
  {
    auto db = store::Database::Open(HistoryPath());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE op_ids SET seq = 1 WHERE seq = 2").ok());
    auto st = (*db)->Prepare("INSERT INTO account_ops (gen, key, seq) VALUES (0, ?1, 2)");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, AccountKey(stranger));
    ASSERT_TRUE(st->Run().ok());
  }
  Open();
  WaitIndexed(3);
  EXPECT_EQ(ledger_->GetOperation(sent[1].op->hash).error().code, "tx_not_found");
  EXPECT_EQ(ledger_->GetOperation(sent[0].op->hash)->op.seq, 1u);
  auto listed = ledger_->AccountOperations(stranger, 0, 10, 0);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_TRUE(listed->empty());
  ExpectConserved();
}

// The id lookup is cut into generations of 2^bits operations so that a
// pass writes into a bounded part of the file (schema/history/002); ids in
// every generation, old and new, are found from the file.
TEST_F(HistoryIndexTest, IdsInEveryGenerationAreFound) {
  const std::vector<Receipt> sent = SendIndexed(9, /*generation_bits=*/1, /*max_tail=*/0);
  EXPECT_EQ(QueryHistory("SELECT COUNT(DISTINCT gen) FROM op_ids"), 5);  // seqs 1..9 >> 1
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_ids WHERE gen != seq >> 1"), 0);
  // max_tail 0: a lookup the file missed would refuse rather than scan the log.
  ExpectFoundById(sent);
  // Seqs 1..9: generations 0-4 are complete, each with its filter, which
  // lets lookups of unknown ids skip them (a false "may hold" is ~1 in 2,000).
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_id_filters"), 5);
  EXPECT_LT(ProbesForUnknownIds(), 20u);  // 500 without the filters
  ExpectConserved();
}

// Accounts' histories are cut into the same generations (schema/history/
// 003), so that a pass's rows land in a bounded part of the table: pages,
// cursors and counts cross them, and an account that was not active in a
// complete generation does not cost a probe of it.
TEST_F(HistoryIndexTest, AccountHistoriesInEveryGenerationAreFound) {
  SendIndexedAfterCreatingC(9, /*generation_bits=*/1);  // c at seq 1 (generation 0), a and b at 2..10
  EXPECT_EQ(QueryHistory("SELECT COUNT(DISTINCT gen) FROM account_ops"), 6);  // seqs 1..10 >> 1
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM account_ops WHERE gen != seq >> 1"), 0);
  // max_tail 0: whatever the file missed would refuse rather than scan the log.
  EXPECT_EQ(HistorySeqs(0, 100, 0), (std::vector<std::uint64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2}));
  EXPECT_EQ(HistorySeqs(0, 3, 0), (std::vector<std::uint64_t>{10, 9, 8}));
  EXPECT_EQ(HistorySeqs(8, 3, 0), (std::vector<std::uint64_t>{7, 6, 5}));
  EXPECT_EQ(HistorySeqs(7, 2, 1), (std::vector<std::uint64_t>{5, 4}));
  EXPECT_EQ(HistorySeqs(3, 10, 0), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(HistorySeqs(2, 10, 0), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 9u);
  EXPECT_EQ(ledger_->GetAccountStats(a_.account_id)->tx_count, 9u);
  auto c_ops = ledger_->AccountOperations(c_, 0, 10, 0);
  ASSERT_TRUE(c_ops.ok());
  ASSERT_EQ(c_ops->size(), 1u);
  EXPECT_EQ(c_ops->front().seq, 1u);
  EXPECT_EQ(ledger_->GetAccountStats(c_)->tx_count, 1u);
  // Generations 0-4 are complete, each with a filter of its accounts: c's
  // reads probe generation 0 and the incomplete 5 (twice each: the count
  // and the page); without the filters, all six.
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_id_filters WHERE accounts IS NOT NULL"), 5);
  EXPECT_LE(AccountReadProbes(c_), 4u);
  // A page of a busy account stops at the newest generations that fill it.
  const std::uint64_t before = ledger_->history_index_status().account_probes;
  EXPECT_EQ(HistorySeqs(0, 2, 0), (std::vector<std::uint64_t>{10, 9}));
  EXPECT_LE(ledger_->history_index_status().account_probes - before, 2u);
  ExpectConserved();
}

// A filter the file lacks or cannot use (an edited file) is built again at
// start-up: lookups stay right, and the generation is skipped again.
TEST_F(HistoryIndexTest, FiltersTheFileLacksAreBuiltAgain) {
  const std::vector<Receipt> sent = SendIndexedAfterCreatingC(8, /*generation_bits=*/1);  // seqs 1..9
  const std::string sums =
      "SELECT SUM(LENGTH(filter) * (gen + 1)) * 1000 + SUM(LENGTH(accounts) * (gen + 1)) FROM op_id_filters";
  const std::int64_t sum = QueryHistory(sums);
  const std::uint64_t probes = AccountReadProbes(c_);
  // Generations 0-4 are complete: c's count and page probe generation 0
  // only (ten probes without the filters).
  EXPECT_LE(probes, 2u);
  // Each edit alone (a filter that fails to load is built again with every
  // later one). c's rows are in generation 0.
  for (const char* edit : {"DELETE FROM op_id_filters WHERE gen = 1", "UPDATE op_id_filters SET filter = x'00'",
                           "UPDATE op_id_filters SET accounts = NULL WHERE gen = 0",
                           "UPDATE op_id_filters SET accounts = zeroblob(24) WHERE gen = 0",
                           "UPDATE op_id_filters SET accounts = zeroblob(128) WHERE gen = 0"}) {
    SCOPED_TRACE(edit);
    ledger_.reset();
    EditHistory(edit);
    Open(kNever, /*max_tail=*/0, 40, /*generation_bits=*/1);
    EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_id_filters"), 5);
    EXPECT_EQ(QueryHistory(sums), sum);
    ExpectFoundById(sent);
    EXPECT_LT(ProbesForUnknownIds(), 20u);
    EXPECT_EQ(AccountReadProbes(c_), probes);
    EXPECT_EQ(ledger_->GetAccountStats(c_)->tx_count, 1u);
  }
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{9, 8, 7, 6, 5, 4, 3, 2}));
  ExpectConserved();
}

// The file keys ids by their first 8 bytes, which two ids can share: a
// lookup keeps the candidate whose logged id is the one asked for, whichever
// comes first. (Rows added here stand for ids that share a prefix.)
TEST_F(HistoryIndexTest, IdsThatShareAPrefixFindTheirOwnOperation) {
  const std::vector<Receipt> sent = SendIndexed(3);
  ledger_.reset();
  // Every operation's prefix also names every other operation.
  EditHistory(
      "INSERT INTO op_ids (gen, prefix, seq) SELECT a.gen, a.prefix, b.seq FROM op_ids a, op_ids b WHERE a.seq != "
      "b.seq");
  Open(kNever, /*max_tail=*/0);
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_ids"), 9);
  ExpectFoundById(sent);
  EXPECT_EQ(ledger_->GetOperation(std::string(64, 'a')).error().code, "tx_not_found");
  ExpectConserved();
}

// A lookup probes generations up to the position, which a tool editing the
// file while the node runs could set anywhere: the probes stop at what the
// thread has read (without that bound this lookup would not return).
TEST_F(HistoryIndexTest, AnEditedPositionDoesNotMakeALookupProbeWithoutEnd) {
  const std::vector<Receipt> sent = SendIndexed(3);
  EditHistory("UPDATE history_state SET indexed_seq = 4611686018427387904");  // the node running
  ExpectFoundById(sent);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 3u);
  ExpectConserved();
}

// A file whose ids were filed under generations of another size would send
// lookups to the wrong place: it is rebuilt.
TEST_F(HistoryIndexTest, AFileCutIntoOtherGenerationsIsRebuilt) {
  const std::vector<Receipt> sent = SendIndexed(5, /*generation_bits=*/1);
  EXPECT_EQ(QueryHistory("SELECT generation_bits FROM history_state"), 1);
  Open(kNever, /*max_tail=*/0, 40, /*generation_bits=*/2);
  WaitIndexed(5);
  EXPECT_EQ(QueryHistory("SELECT generation_bits FROM history_state"), 2);
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM op_ids WHERE gen != seq >> 2"), 0);
  ExpectFoundById(sent);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{5, 4, 3, 2, 1}));
  ExpectConserved();
}

// Migration history/002 replaces the id table; the index it leaves is
// rebuilt from the log rather than trusted at its old position.
TEST_F(HistoryIndexTest, AFileOfTheFirstLayoutIsRebuiltAfterTheMigration) {
  // The first layout, with its tables empty.
  const std::vector<Receipt> sent = SendAndWriteAnOlderLayout(1, "");
  Open(kNever, /*max_tail=*/0);
  WaitIndexed(3);
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'op_hash'"), 0);
  ExpectFoundById(sent);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  ExpectConserved();
}

// Migration history/003 keys accounts' histories by generation; the index
// it leaves is rebuilt from the log rather than trusted at its old position.
TEST_F(HistoryIndexTest, AFileOfTheSecondLayoutIsRebuiltAfterTheMigration) {
  // The second layout, with b's rows for seqs 1 and 2 only.
  const std::string b_key = "x'" + ToHex(AccountKey(b_.account_id)) + "'";
  const std::vector<Receipt> sent =
      SendAndWriteAnOlderLayout(2, "INSERT INTO account_ops (key, seq) VALUES (" + b_key + ", 1), (" + b_key + ", 2)");
  Open(kNever, /*max_tail=*/0);
  WaitIndexed(3);
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM pragma_table_info('account_ops') WHERE name = 'gen'"), 1);
  EXPECT_EQ(QueryHistory("SELECT COUNT(*) FROM account_ops"), 6);  // a and b, three each
  ExpectFoundById(sent);
  EXPECT_EQ(HistorySeqs(0, 10, 0), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id)->tx_count, 3u);
  ExpectConserved();
}

// Reading an unbounded tail would be unbounded work for one request.
TEST_F(HistoryIndexTest, ReadsRefuseATailLongerThanTheBound) {
  Open(kNever, /*max_tail=*/2);
  std::vector<Receipt> sent;
  for (std::uint64_t n = 0; n < 3; ++n) sent.push_back(Send(100 + n, n));
  auto by_id = ledger_->GetOperation(sent[0].op->hash);
  ASSERT_FALSE(by_id.ok());
  EXPECT_EQ(by_id.error().code, "history_catching_up");
  EXPECT_EQ(by_id.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(ledger_->AccountOperations(b_.account_id, 0, 10, 0).error().code, "history_catching_up");
  EXPECT_EQ(ledger_->GetAccountStats(b_.account_id).error().code, "history_catching_up");
  Open(kNever, 2);  // caught up at the start
  WaitIndexed(3);
  EXPECT_TRUE(ledger_->GetOperation(sent[0].op->hash).ok());
  EXPECT_EQ(HistorySeqs(0, 10, 0).size(), 3u);
  ExpectConserved();
}

// Migration core/002 keeps every logged operation and drops the id's
// uniqueness (and its index) with the columns unchanged.
TEST(CoreMigration002, RebuildsTheLogWithoutTheIdIndex) {
  TempDir dir;
  auto db = store::Database::Open(dir.file("s.sqlite"));
  ASSERT_TRUE(db.ok());
  auto all = CoreMigrations();
  ASSERT_GE(all.size(), 2u);
  ASSERT_TRUE((*db)->Migrate("core", all.first(1)).ok());
  const char* insert =
      "INSERT INTO operations (seq, hash, type, auth, fields, evidence, timestamp, touched) "
      "VALUES (?1, ?2, 'transfer', 1, ?3, ?3, 7, ?4)";
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    auto st = (*db)->Prepare(insert);
    ASSERT_TRUE(st.ok());
    st->Bind(1, seq).BindBlob(2, Bytes(32, static_cast<std::uint8_t>(seq)));
    st->BindBlob(3, EncodeFields({})).BindBlob(4, EncodeLeafIds({}));
    ASSERT_TRUE(st->Run().ok());
  }
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM pragma_index_list('operations')"), 1);
  ASSERT_TRUE((*db)->Migrate("core", all).ok());
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM pragma_index_list('operations')"), 0);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM operations"), 3);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT SUM(seq * timestamp) FROM operations"), 42);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM op_index_purge"), 1);
  Hash256 id;
  id.fill(2);
  auto op = OperationByIdAfter(**db, id, 0);
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE(op->has_value());
  EXPECT_EQ((*op)->seq, 2u);
}

// The rows of accounts' histories a store kept in op_index before core/002
// go at the next start; module entities' rows stay.
TEST_F(HistoryIndexTest, TheFirstStartAfterTheMigrationPurgesAccountRowsFromOpIndex) {
  Open();
  for (std::uint64_t n = 0; n < 2; ++n) Send(100 + n, n);
  ledger_.reset();
  const Hash256 module_key = LeafKey(200, "pool-1");
  {
    auto db = store::Database::Open(dir_.file("data") + "/krayd.sqlite");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->Exec("CREATE TABLE op_index_purge (id INTEGER PRIMARY KEY); INSERT INTO op_index_purge VALUES (1)")
            .ok());
    for (const auto& [key, seq] : std::vector<std::pair<Hash256, std::int64_t>>{{AccountKey(a_.account_id), 1},
                                                                                {AccountKey(b_.account_id), 1},
                                                                                {AccountKey(b_.account_id), 2},
                                                                                {module_key, 2}}) {
      auto st = (*db)->Prepare("INSERT INTO op_index (key, seq) VALUES (?1, ?2)");
      ASSERT_TRUE(st.ok());
      st->BindBlob(1, key).Bind(2, seq);
      ASSERT_TRUE(st->Run().ok());
    }
  }
  Open();
  ledger_.reset();
  auto db = store::Database::Open(dir_.file("data") + "/krayd.sqlite");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM op_index"), 1);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'op_index_purge'"), 0);
  auto module_rows = OperationsTouching(**db, module_key, 0, 10);
  ASSERT_TRUE(module_rows.ok());
  ASSERT_EQ(module_rows->size(), 1u);
  EXPECT_EQ(module_rows->front().seq, 2u);
}

}  // namespace
}  // namespace kray::state
