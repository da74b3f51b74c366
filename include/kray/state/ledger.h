// The Ledger: krayd's state facade. It owns the store, the sequencer (the
// only writer), a pool of read connections and the cache of bound keys.
//
// Writes are operations (operation.h). Submit() validates on the caller's
// thread and, for signed operations, verifies the signature against the
// signer's bound key (keys are immutable once bound), runs the type's
// Precheck against the last committed state, then queues it. The
// sequencer takes up to max_group queued operations, applies each in order
// inside ONE SQLite transaction (each all-or-nothing), commits (one fsync
// with synchronous=FULL), and only then calls back (acknowledged == durable)
// and publishes the group's change set to the listeners. A caller that asks
// for it (ApplyOn::kCallerIfIdle) has its operation applied the same way, as
// a group of one, on its own thread when the sequencer is idle and nothing
// is queued: that saves waking the sequencer and being woken by it. Such a
// group is recorded in the input log first (src/state/input_log.h), whose
// fsync runs while the signature is checked and the group applied; its
// COMMIT then does not sync, and the answer waits for the record. So
// callbacks and listeners run on the sequencer thread or on such a caller's:
// keep them short (post to your io_context).
//
// A commit that fails is not retried into a half-known state: the sequencer
// stops accepting writes ("store_failed") until restart, as LevelDB's sticky
// background error does.
//
// Reads are thread-safe and see the last committed group.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/changes.h"
#include "kray/state/executor.h"
#include "kray/state/ledger_metrics.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"
#include "kray/state/request.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// Where Submit() may apply an operation.
enum class ApplyOn {
  kSequencer,  // queued; applied and answered on the sequencer thread
  // Applied on the calling thread, before Submit() returns, when no group is
  // being applied and nothing is queued; otherwise queued. The caller must
  // hold no lock that `done` or a ChangeListener takes, and must not mind
  // being blocked for one group commit (an fsync). The HTTP handlers for
  // single operations use it.
  kCallerIfIdle,
};

// The sequencer's cache of accounts (src/state/state_cache.h): an account's
// own row and each of its balance rows are an entry each, ~250 bytes an
// entry held (485 bytes an account of one asset: bench/state_cache_bench,
// BM_HeldBytesPerAccount). The default of config key accountcache (MiB)
// holds ~2.1 million accounts of one asset. Bounded at two million entries
// before, it held a million such accounts: at a million accounts in use it
// was emptied once all had been touched and every account was read from
// the store again, the sequencer ~15 % more CPU per transfer
// (docs/BENCHMARKS.md, fifty-ninth round).
inline constexpr std::size_t kCachedAccountEntryBytes = 250;
inline constexpr std::size_t kDefaultAccountCacheMiB = 1024;
constexpr std::size_t CachedAccountEntriesFor(std::size_t mib) {
  return mib * (std::size_t{1} << 20) / kCachedAccountEntryBytes;
}

struct LedgerOptions {
  std::string datadir;  // created if missing; store file is <datadir>/krayd.sqlite
  ChainParams params;
  std::string genesis_path;          // JSON allocation (config/genesis.regtest.json)
  std::string synchronous = "FULL";  // NORMAL | FULL | EXTRA
  std::size_t max_group = 2048;      // max operations per group commit
  std::size_t read_connections = 4;  // pooled reader connections (grown on demand)
  bool accept_legacy = true;         // accept legacy-signed transfers (docs/SIGNING.md)
  // How long a small group may wait for more operations while submissions
  // overlap (config groupwait; src/state/sequencer.h); 0: never.
  std::chrono::microseconds group_wait{0};
  // Seconds added to the wall clock when the sequencer stamps operations.
  // Tests advance time with it; krayd refuses it outside regtest.
  std::int64_t clock_offset = 0;
  // Tests only: runs on the sequencer after each group's COMMIT, before the
  // group is published to the listeners and answered (a test holds it to
  // see what readers see in between).
  std::function<void()> after_commit;
  // Tests only: runs in GetOperation() after a look in the log that missed,
  // before the look among queued operations (a test holds it while the
  // operation commits).
  std::function<void()> between_log_and_pending;
  // Minimum time between the history index's passes (each takes the
  // committed groups handed to it, or reads the log;
  // src/state/history_index.h). Tests make it long to read through the log's
  // tail.
  int history_interval_ms = 50;
  // The history index writes its file every this many history intervals;
  // what it read meanwhile serves reads from memory (src/state/history_index.h).
  int history_write_intervals = 40;
  // Reads of accounts' histories and of operations by id take what the index
  // has not reached from the log; past this many operations they refuse
  // ("history_catching_up") rather than read without bound.
  std::uint64_t history_max_tail = 100000;
  // Operations per generation of the id lookup, as a power of two
  // (src/state/history_index.h). Tests make it small to span generations;
  // a file written with other bits is rebuilt.
  int history_generation_bits = 18;
  // The input log for groups applied while the sequencer is idle (with
  // synchronous FULL or EXTRA; src/state/input_log.h). Off: every commit
  // syncs.
  bool input_log = true;
  // Account rows the store already has are written back, in key order, a
  // whole sweep of the key space every this many seconds, instead of at
  // each group (src/state/unwritten_rows.h); 0: at each group, as before.
  double account_write_back_seconds = 10;
  // The sequencer's account cache bound, in entries (config accountcache,
  // CachedAccountEntriesFor). Past it, between two groups, the cache is
  // emptied (freed a slice per group) and refilled from the store as
  // accounts are used again.
  std::size_t max_cached_entries = CachedAccountEntriesFor(kDefaultAccountCacheMiB);
};

using ReceiptCallback = std::function<void(Result<Receipt>)>;

class Ledger {
 public:
  // Opens/creates the store, applies every module's migrations, applies the
  // genesis once (refuses a different genesis: "genesis_mismatch"; another
  // chain id: "chain_id_mismatch"), starts the sequencer. `registry` is not
  // owned and must outlive the Ledger.
  static Result<std::unique_ptr<Ledger>> Open(const LedgerOptions& options, const ModuleRegistry& registry);
  static Result<std::unique_ptr<Ledger>> Open(const LedgerOptions&, const ModuleRegistry&&) = delete;
  // Drains the queue, stops the sequencer, closes the store.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Not owned; must outlive the Ledger. Thread-safe: the listener gets every
  // group committed after this returns.
  void AddListener(ChangeListener* listener);
  void RemoveListener(ChangeListener* listener);

  // --- writes (thread-safe) ---
  // A canonical operation (request.h builds one from a request). Operator
  // and system operations are trusted to come from the operator's endpoint
  // or the node itself; `done` runs once, on the sequencer thread or here
  // (before Submit returns: an error, or with kCallerIfIdle an operation
  // applied here).
  void Submit(Operation op, ReceiptCallback done, ApplyOn apply = ApplyOn::kSequencer);
  // Each gets its own result, in order; `done` runs once, after all. The
  // operations are checked and queued on the ledger's batch threads, not
  // the caller's: `done` runs here only for an empty list.
  void SubmitMany(std::vector<Operation> ops, std::function<void(std::vector<Result<Receipt>>)> done);
  // Builds the operation (request.h) and submits it.
  void SubmitRequest(const OperationRequest& request, ReceiptCallback done, ApplyOn apply = ApplyOn::kSequencer);
  // Blocking conveniences (tests, tools). Never call them from a callback.
  Result<Receipt> SubmitSync(Operation op);
  Result<Receipt> SubmitRequestSync(const OperationRequest& request);
  // Returns once everything queued before it has been committed (or failed).
  void Flush();

  // --- reads (thread-safe) ---
  // `who`: "kray_..." id or an L1 address. 404 "account_not_found".
  Result<Account> GetAccount(std::string_view who) const;
  // Operations that changed the account, newest first; keyset paging: pass
  // the last seq seen as `before` (0: from the newest); `offset` skips more.
  Result<std::vector<Operation>> AccountOperations(std::string_view who, std::uint64_t before, int limit,
                                                   int offset) const;
  Result<AccountStats> GetAccountStats(std::string_view who) const;
  // Accounts ordered by id, after `after_id` ("" = from the start).
  Result<std::vector<Account>> ListAccounts(int limit, std::string_view after_id, int offset) const;
  // A committed operation, or a queued one (status "pending"). 404 "tx_not_found".
  struct FoundOperation {
    Operation op;
    bool pending = false;
  };
  Result<FoundOperation> GetOperation(std::string_view hash_hex) const;
  std::vector<Operation> Pending(int limit) const;  // queued, not yet committed
  Result<TxStats> GetTxStats() const;               // O(1): kept as counters
  Result<ConservationReport> CheckConservation() const;
  Result<ResolvedAccount> ResolveAccount(std::string_view who) const;

  // Runs `fn` with a pooled read connection (for modules' own reads).
  // Accounts `fn` reads (LoadAccountState) include rows not written back
  // yet; if its snapshot turns out older than a write-back they need
  // (error `snapshot_stale`), `fn` runs again, up to three times in all:
  // it must start from scratch each time (assign its results, not append).
  Status WithReader(const std::function<Status(store::Database&)>& fn) const;
  // WithReader for a read that returns a value (`fn(db)` gives a Result<T>):
  // its error `snapshot_stale` runs it again too, up to three times in all,
  // so `fn` must be free of side effects; any other error is its answer.
  template <class T, class F>
  Result<T> Read(F fn) const {
    std::optional<Result<T>> out;
    Status s = WithReader([&](store::Database& db) -> Status {
      out.emplace(fn(db));
      if (!out->ok() && out->error().code == "snapshot_stale") return out->error();
      return Ok();
    });
    if (!s.ok()) return std::move(s).error();
    return std::move(*out);
  }

  const ChainParams& params() const;
  const ModuleRegistry& registry() const;
  const LedgerOptions& options() const;
  std::string genesis_hash() const;  // hex SHA-256 of the genesis file bytes
  // The genesis file exactly as applied, read from the store (not kept in
  // memory: hundreds of MB at a million accounts).
  Result<std::string> genesis_file() const;
  std::string datadir() const;
  std::string store_path() const;  // <datadir>/krayd.sqlite
  // The history index (<datadir>/history.sqlite): accounts' histories and
  // operations by id, following the log (src/state/history_index.h).
  struct HistoryIndexStatus {
    std::string path;
    std::uint64_t indexed_seq = 0;     // every operation up to it is in the index's file
    std::uint64_t read_seq = 0;        // and up to this one in its file or its memory
    std::uint64_t passes = 0;          // passes completed since the start
    std::uint64_t passes_failed = 0;   // since the start (each is retried)
    std::uint64_t id_probes = 0;       // generations of the file id lookups probed, since the start
    std::uint64_t account_probes = 0;  // and account history reads and counts
    // Operations the index took from committed groups in memory, and read
    // back from the log (at a start, after a gap or dropped groups, and what
    // committed while a pass began, before its group was handed over), since
    // the start, as of read_seq: a node under load reads few from the log.
    std::uint64_t taken_from_groups = 0;
    std::uint64_t read_from_log = 0;
  };
  HistoryIndexStatus history_index_status() const;
  std::size_t queue_depth() const;
  // Accounts with rows not written back yet, or written back within
  // UnwrittenRows::kRetireDelay (config writeback; src/state/unwritten_rows.h).
  std::size_t unwritten_accounts() const;
  // Group commit and signature measurements (thread-safe reads).
  const LedgerMetrics& metrics() const;
  // The sequencer's clock: wall clock + clock_offset, unix seconds.
  std::int64_t Now() const;

  struct Impl;  // internal (src/state/ledger_impl.h)

 private:
  // Opens <datadir>/inputs.log, applies again what the store lost of it,
  // and hands it to the sequencer (before the sequencer starts).
  Status OpenInputLog();
  explicit Ledger(std::unique_ptr<Impl> impl);
  // The operation with this id (lower-case hex) in the log, if it is there.
  Result<std::optional<Operation>> FindCommitted(const std::string& hash_hex) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::state
