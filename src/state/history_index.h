// Internal: the history index, <datadir>/history.sqlite (schema/history/).
// Accounts' histories (which operations changed an account) and the
// operation-id lookup, kept out of the sequencer's commit.
//
// Why: both are B-tree inserts at random places (an account's newest rows,
// a random 32-byte id), so in the sequencer's transaction they dirtied a page
// per row: 58 % of the WAL frames of a group commit at 50 connections
// (docs/BENCHMARKS.md, ninth round). Here a thread follows the operation log
// from its own position, like the rollup index, and writes what arrived
// since its last pass in one transaction sorted by key, so rows that share a
// page share its write.
//
// Readers see the log immediately: the index covers seq <= indexed_seq, and
// Ledger reads take the rest (the tail) from krayd.sqlite itself, reading the
// index first and the log second, so nothing committed before a read began
// is missed. Everything here is derived from the log: a file that does not
// match it (another chain's, an edited one) is emptied and rebuilt.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/changes.h"
#include "kray/store/database.h"
#include "kray/store/reader_pool.h"

namespace kray::state {

class HistoryIndex : public ChangeListener {
 public:
  // A pass waits at least this long after the previous one (unless more
  // than kPassOperations are waiting): the longer, the more rows share a page.
  static constexpr int kDefaultIntervalMs = 200;
  // Operations per transaction of the index.
  static constexpr std::size_t kPassOperations = 20000;

  // Opens (creating) the index at `path`, following the log in the store at
  // `state_path` (read-only connections of its own). Checks its position
  // against the log and empties itself if they disagree.
  static Result<std::unique_ptr<HistoryIndex>> Open(const std::string& path, const std::string& state_path,
                                                    int interval_ms = kDefaultIntervalMs);
  ~HistoryIndex() override;  // Stop()

  void Start();
  void Stop();

  // Wakes the thread (the rows are read back from the log).
  void OnGroupCommitted(const std::shared_ptr<const GroupChanges>& changes) override;

  // Reads, each in one snapshot of the index. `indexed_seq`: the index holds
  // every operation with seq <= it and none after.
  struct HashHit {
    std::uint64_t indexed_seq = 0;
    std::optional<std::uint64_t> seq;
  };
  Result<HashHit> FindHash(const Hash256& id);
  struct AccountHits {
    std::uint64_t indexed_seq = 0;
    std::vector<std::uint64_t> seqs;  // newest first
  };
  // Seqs of operations that changed the account leaf `key`: seq < before (0 =
  // no bound), newest first, at most `limit`.
  Result<AccountHits> AccountSeqs(const Hash256& key, std::uint64_t before, std::size_t limit);
  struct AccountCount {
    std::uint64_t indexed_seq = 0;
    std::uint64_t count = 0;
  };
  Result<AccountCount> CountAccount(const Hash256& key);

  const std::string& path() const { return db_->path(); }
  std::uint64_t indexed_seq() const { return indexed_seq_.load(std::memory_order_acquire); }
  std::uint64_t passes() const { return passes_.load(std::memory_order_acquire); }  // completed, by the thread
  std::uint64_t passes_failed() const { return passes_failed_.load(std::memory_order_relaxed); }

 private:
  HistoryIndex(std::unique_ptr<store::Database> db, std::unique_ptr<store::Database> state, std::string path,
               int interval_ms);
  void Run();
  // One transaction of at most kPassOperations; returns how many it indexed.
  Result<std::size_t> Pass();
  Status CheckPosition();
  // Runs `query` in one snapshot of the index, after reading the position
  // (indexed_seq) that snapshot covers.
  Status InSnapshot(std::uint64_t* indexed_seq, const std::function<Status(store::Database&)>& query);

  std::unique_ptr<store::Database> db_;     // history.sqlite, writer (the thread)
  std::unique_ptr<store::Database> state_;  // krayd.sqlite, read-only
  store::ReaderPool readers_;
  const int interval_ms_;
  std::atomic<std::uint64_t> indexed_seq_{0};
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> passes_failed_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace kray::state
