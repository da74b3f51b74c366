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
// The thread reads what was committed every interval_ms (from the groups
// the sequencer hands it, or from the log) but writes to the file only
// every kWriteIntervals * interval_ms (or once kPassOperations wait): the
// rows it has read and not yet written (the tail) stay in memory, and reads
// take them from there. Why: once the tables outgrow a pass, each row of a
// pass dirties a page of its own, so a file that grew with the log cost
// ever more per transfer (docs/BENCHMARKS.md, nineteenth and twentieth
// rounds); fewer, larger passes share more pages, and the tail in memory
// keeps reads from scanning the log for what a longer wait left unwritten.
//
// Readers see the log immediately: the index (file and memory) covers seq <=
// indexed_seq of each answer, and Ledger reads take the rest from
// krayd.sqlite itself, reading the index first and the log second, so
// nothing committed before a read began is missed. Everything here is
// derived from the log: a file that does not match it (another chain's, an
// edited one) is emptied and rebuilt; the memory is rebuilt at each start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/state/changes.h"
#include "kray/store/database.h"
#include "kray/store/reader_pool.h"

namespace kray::state {

class HistoryIndex : public ChangeListener {
 public:
  // The thread reads what was committed at least this long after its
  // previous read (unless more than kPassOperations were waiting).
  static constexpr int kDefaultIntervalMs = 50;
  // It writes what it read to the file every this many intervals, or sooner
  // once kPassOperations are in memory: the longer, the more rows share a page.
  static constexpr int kWriteIntervals = 40;
  // Operations per read of the log and per transaction of the index.
  static constexpr std::size_t kPassOperations = 20000;
  // While a write keeps failing the thread stops reading past this many
  // operations in memory (reads then scan the log, up to their own bound).
  static constexpr std::size_t kMaxTailOperations = 4 * kPassOperations;
  // The file's generations: operations seq >> kGenerationBits share one
  // (schema/history/002 and 003), in the id lookup and in accounts'
  // histories. A pass writes into the newest one or two, so the pages it
  // dirties stay bounded however long the log grows. The file records its
  // bits; a file with others is rebuilt. A complete generation (every seq of
  // it <= indexed_seq) has Bloom filters of its id prefixes and of its
  // account keys, kept in the file with the pass that completed it and in
  // memory: a read probes a complete generation only if its filter may hold
  // what it looks for (the newest, incomplete one always), so an id lookup's
  // reads of the file do not grow with the log, nor does a history read of
  // an account that was not active throughout it.
  static constexpr int kGenerationBits = 18;

  // Opens (creating) the index at `path`, following the log in the store at
  // `state_path` (read-only connections of its own). Checks its position
  // against the log and empties itself if they disagree.
  static Result<std::unique_ptr<HistoryIndex>> Open(const std::string& path, const std::string& state_path,
                                                    int interval_ms = kDefaultIntervalMs,
                                                    int write_intervals = kWriteIntervals,
                                                    int generation_bits = kGenerationBits);
  ~HistoryIndex() override;  // Stop()

  void Start();
  void Stop();

  // Hands the group to the thread and wakes it. The thread takes the
  // operations of groups that continue its position from here; after a gap
  // (its start, groups committed before it was attached, more than
  // kMaxArrivedOperations waiting), or when none arrived, it reads the log
  // instead. Why: reading back the rows the sequencer had just written
  // cost the thread 10,439 instructions a transfer under callgrind (taking
  // them from the group: 2,510) and a read of a WAL page (a system call)
  // every ~6 transfers, for what the group holds in memory
  // (docs/BENCHMARKS.md, seventieth round).
  void OnGroupCommitted(const std::shared_ptr<const GroupChanges>& changes) override;
  // Operations waiting to be taken from memory at most (one pass's worth:
  // more means the thread is behind, and the log serves it as well): past
  // it the groups that arrive are dropped, and read from the log.
  static constexpr std::size_t kMaxArrivedOperations = kPassOperations;

  // Reads, each in one snapshot of the index (file and memory). `indexed_seq`:
  // the answer covers every operation with seq <= it and none after.
  // `seqs`: the operations that may have this id, most likely first. The
  // file keys ids by an 8-byte prefix, which two ids can share, so the
  // caller keeps the candidate whose logged id is `id` (the log is the truth
  // for edited files as well).
  struct HashHit {
    std::uint64_t indexed_seq = 0;
    std::vector<std::uint64_t> seqs;
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
  // The file's position (what memory holds is past it).
  std::uint64_t indexed_seq() const { return indexed_seq_.load(std::memory_order_acquire); }
  // What the thread has read of the log (in the file or in memory).
  std::uint64_t read_seq() const {
    std::lock_guard lock(tail_mu_);
    return tail_.read_seq;
  }
  std::uint64_t passes() const { return passes_.load(std::memory_order_acquire); }  // completed, by the thread
  // The same position with the operations the thread took since the start
  // from committed groups in memory and read from the log, at one moment:
  // the two sum to read_seq less the position it started from (/metrics).
  struct Reads {
    std::uint64_t read_seq = 0;
    std::uint64_t taken_from_groups = 0;
    std::uint64_t read_from_log = 0;
  };
  Reads reads() const {
    std::lock_guard lock(tail_mu_);
    return {tail_.read_seq, taken_from_groups_, read_from_log_};
  }
  std::uint64_t taken_from_groups() const { return reads().taken_from_groups; }
  std::uint64_t read_from_log() const { return reads().read_from_log; }
  std::uint64_t passes_failed() const { return passes_failed_.load(std::memory_order_relaxed); }
  // Generations the id lookups and the account reads probed in the file,
  // since the start.
  std::uint64_t id_probes() const { return id_probes_.load(std::memory_order_relaxed); }
  std::uint64_t account_probes() const { return account_probes_.load(std::memory_order_relaxed); }

  // A Bloom filter of 8-byte prefixes (of ids or account keys, both SHA-256
  // outputs): 16 bits per entry, 8 bit probes (about 1 false "may hold" in
  // 2,000 when full). The ids' filter of a generation has room for each of
  // its operations: 2 bytes of memory per operation logged (20 MB at ten
  // million), against ~1.2 µs of a probe per generation saved.
  class PrefixFilter {
   public:
    // Room for `entries` prefixes, rounded up to a power of two of bits.
    explicit PrefixFilter(std::size_t entries);
    void Add(std::int64_t prefix);
    bool MayHold(std::int64_t prefix) const;
    ByteSpan bytes() const;  // host byte order: the file is this node's own
    // False if `bytes` is not a filter of this size (an edited file).
    bool Load(ByteSpan bytes);

   private:
    std::vector<std::uint64_t> words_;
  };
  // A complete generation's filters.
  struct GenerationFilters {
    PrefixFilter ids;
    PrefixFilter accounts;  // sized for the distinct account keys it touched
  };

 private:
  HistoryIndex(std::unique_ptr<store::Database> db, std::unique_ptr<store::Database> state, std::string path,
               int interval_ms, int write_intervals, int generation_bits);
  std::int64_t Generation(std::uint64_t seq) const { return static_cast<std::int64_t>(seq >> generation_bits_); }
  void Run();
  // Moves the operations that continue the tail into it: the arrived
  // groups' up to the first gap (none arrived, groups dropped, a group that
  // does not continue it), then the log's, at most kPassOperations in all.
  // Returns whether more may be waiting: the thread then goes on without
  // its pause.
  Result<bool> ReadNext();
  struct Taken {
    std::size_t operations = 0;  // taken from the groups
    bool all = false;            // every group that arrived; else the log has the next operation
  };
  // Takes what continues the tail from the groups that arrived (and frees
  // them, on the thread).
  Taken TakeArrived();
  using KeySeq = std::pair<Hash256, std::uint64_t>;  // an id or an account key, and a seq
  // Appends `group`'s ids and account keys if its operations continue
  // `after_seq` one by one and their ids are hex; else false (what it
  // appended is the caller's to drop).
  bool TakeGroup(const GroupChanges& group, std::uint64_t after_seq, std::vector<KeySeq>& ids,
                 std::vector<KeySeq>& accounts);
  // Reads at most `max` operations from the log into the tail; returns how many.
  Result<std::size_t> ReadLog(std::size_t max);
  // Adds what was read (ids and account keys with their seqs, ascending)
  // up to `last_seq`, whose id is `last_hash`, to the tail, and counts the
  // operations in `source`'s counter (taken_from_groups_ or read_from_log_).
  void AddToTail(const std::vector<KeySeq>& ids, const std::vector<KeySeq>& accounts, std::uint64_t last_seq,
                 Bytes last_hash, std::uint64_t HistoryIndex::*source);
  // Writes the tail to the file in one transaction, then empties it.
  Status WriteTail();
  Status CheckPosition();
  // Whether the file holds rows of operations after `seq` (an edited file).
  Result<bool> RowsPastPosition(std::uint64_t seq);
  using Filters = std::vector<std::shared_ptr<const GenerationFilters>>;  // index: generation
  // Filters of the generations complete at `indexed_seq` that `filters`
  // lacks, built from the file's rows and stored in it (in the caller's
  // transaction).
  Status AddFilters(std::uint64_t indexed_seq, Filters& filters);
  // Generation `gen`'s filters, from the file's rows.
  Result<std::shared_ptr<const GenerationFilters>> BuildFilters(std::int64_t gen);
  // The newest generation a read of the file at position `indexed_seq`
  // probes: bounded by what the thread has read, which the file's position
  // cannot pass unless a tool edited it (an edit must not make a read probe
  // without end).
  std::int64_t NewestGenerationToProbe(std::uint64_t indexed_seq) const {
    return Generation(std::min(indexed_seq, read_seq()));
  }
  // Runs `probe(gen)` on the generations from `newest` down to 0, newest
  // first, except the complete ones whose filters `may_hold` rules out (an
  // incomplete one has none and is always probed), counting each probe in
  // `probes`, until `probe` answers false (it has what it needs) or fails.
  static Status ProbeGenerations(const Filters& filters, std::int64_t newest,
                                 const std::function<bool(const GenerationFilters&)>& may_hold,
                                 std::atomic<std::uint64_t>& probes,
                                 const std::function<Result<bool>(std::int64_t gen)>& probe);
  Status LoadFilters();
  std::shared_ptr<const Filters> filters() const;
  std::pair<std::vector<std::uint64_t>, std::uint64_t> TailSeqs(const Hash256& key, std::uint64_t before,
                                                                std::size_t limit);
  // Runs `query` in one snapshot of the index, after reading the position
  // (indexed_seq) that snapshot covers.
  Status InSnapshot(std::uint64_t* indexed_seq, const std::function<Status(store::Database&)>& query);

  struct IdHash {
    std::size_t operator()(const Hash256& h) const;
  };
  // The operations read (from groups or the log) and not yet written: seqs in
  // (indexed_seq_, read_seq], except between a write's commit and its
  // emptying of the tail. Only the thread changes it, under tail_mu_;
  // reads copy what they need under tail_mu_ before reading the file, so
  // whatever a write moved from here to the file in between, they find in
  // one of the two.
  struct Tail {
    std::uint64_t read_seq = 0;
    Bytes read_hash;  // the id of operation read_seq
    std::size_t operations = 0;
    std::unordered_map<Hash256, std::uint64_t, IdHash> ids;
    std::unordered_map<Hash256, std::vector<std::uint64_t>, IdHash> accounts;  // seqs ascending
  };

  std::unique_ptr<store::Database> db_;     // history.sqlite, writer (the thread)
  std::unique_ptr<store::Database> state_;  // krayd.sqlite, read-only
  store::ReaderPool readers_;
  const int interval_ms_;
  const int write_intervals_;
  const int generation_bits_;
  std::atomic<std::uint64_t> indexed_seq_{0};
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> passes_failed_{0};
  std::atomic<std::uint64_t> id_probes_{0};
  std::atomic<std::uint64_t> account_probes_{0};
  mutable std::mutex filters_mu_;
  std::shared_ptr<const Filters> filters_;  // guarded by filters_mu_; replaced, never changed
  mutable std::mutex tail_mu_;
  Tail tail_;
  // Operations the thread added to the tail from committed groups and from
  // the log since the start (guarded by tail_mu_, so a status read sees
  // them with the read_seq they got to).
  std::uint64_t taken_from_groups_ = 0;
  std::uint64_t read_from_log_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  // Committed groups not yet taken (guarded by mu_), their operations, and
  // whether some were dropped since the thread last took them.
  std::vector<std::shared_ptr<const GroupChanges>> arrived_;
  std::size_t arrived_operations_ = 0;
  bool arrived_dropped_ = false;
  // TakeGroup's map of a group's account leaves to their keys (the thread's,
  // kept for its buckets).
  std::unordered_map<std::string_view, const Hash256*> account_keys_;
  std::thread thread_;
};

}  // namespace kray::state
