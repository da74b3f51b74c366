// Internal to the history index's tests (history_index_test.cpp,
// history_index_groups_test.cpp): a Ledger on a temp datadir whose history
// index runs as a test asks, and what the tests read and edit of its file.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../../src/state/history_index.h"
#include "kray/crypto/hash.h"
#include "kray/state/core_module.h"
#include "kray/state/leaves.h"
#include "kray/store/database.h"
#include "test_util.h"

namespace kray::state {

std::span<const store::Migration> CoreMigrations();
std::span<const store::Migration> HistoryMigrations();

namespace history_test {

using testing::Dev1;
using testing::Dev2;
using testing::Key;
using testing::TempDir;

inline constexpr int kNever = 3600 * 1000;  // a history interval no test outlasts

// An id no operation has.
inline std::string UnknownId(int i) {
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

}  // namespace history_test
}  // namespace kray::state
