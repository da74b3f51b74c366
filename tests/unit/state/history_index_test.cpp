// The history index (src/state/history_index.h) through the Ledger's reads:
// accounts' histories and operations by id, whether the index has reached
// an operation or the read takes it from the log's tail; its file checked at
// start-up against the log, rebuilt when edited, migrated.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../../src/store/wal_vfs.h"
#include "history_index_fixture.h"
#include "kray/state/op_log.h"

namespace kray::state {
namespace {

using history_test::HistoryIndexTest;
using history_test::kNever;
using testing::TempDir;

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
