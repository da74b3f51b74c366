// Internal: the sequencer, the single writer. It owns the write connection
// and an Executor; it takes up to max_group queued commands, applies them
// inside one SQLite transaction, commits, then answers them and publishes the
// change set. About once a second it asks the modules for system operations
// that are due and applies them the same way.
//
// Groups are applied by one thread at a time: the sequencer's own thread, or
// a submitter that found the sequencer idle and its queue empty (Enqueue's
// `may_apply_here`). The second saves the two thread hand-offs (submitter ->
// sequencer -> submitter) that dominate one transfer's latency when the node
// is not busy; under load the queue is never empty and groups grow as before.
//
// Between the two, under a steady load from many clients that keeps the
// node half busy, requests arrive one at a time and each would commit as a
// group of one or two: an fsync and a transaction per transfer, about twice
// a transfer's CPU at saturation (docs/BENCHMARKS.md, fifty-fourth round).
// So while requests overlap (most of the recent ones arrived while others
// were open: submitted, not answered yet), a group of fewer than
// kGatherBelow operations waits up to LedgerOptions::group_wait for more,
// for at most as many again as it holds (a group that holds every client's
// request would wait for nothing), and a submitter that finds the sequencer
// idle queues its operation instead of applying it. One client's requests,
// one after another, never overlap and never wait; a wait that gathers
// nothing makes the next ones rarer. Off by default (group_wait 0): a few
// clients that each send their next request the moment they are answered
// lose some of their rate to the waits (docs/BENCHMARKS.md, fifty-fourth
// round).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "account_read_cache.h"
#include "input_log.h"
#include "key_cache.h"
#include "kray/state/changes.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "pending.h"
#include "unwritten_rows.h"

namespace kray::state {

class Sequencer;

// A submitted operation from its arrival (Sequencer::Announce) until it is
// answered or dropped: how the sequencer knows how many requests are open.
class Arrival {
 public:
  Arrival() = default;
  Arrival(Arrival&& other) noexcept : seq_(std::exchange(other.seq_, nullptr)) {}
  Arrival& operator=(Arrival&& other) noexcept;
  ~Arrival();

 private:
  friend class Sequencer;
  explicit Arrival(Sequencer* seq) : seq_(seq) {}
  // No longer counted here (the caller departs it); whether it was.
  bool Release() { return std::exchange(seq_, nullptr) != nullptr; }
  Sequencer* seq_ = nullptr;
};

// Apply one operation; `ticket` is its entry in PendingOperations (0: none),
// which shares `op` (the sequencer writes only what it assigns: pending.h).
struct OperationCommand {
  std::shared_ptr<Operation> op;
  ReceiptCallback done;
  std::uint64_t ticket = 0;
  Arrival arrival;  // a submitted operation's: open until answered
};
// Answered once everything queued before it has been committed.
struct BarrierCommand {
  std::function<void()> done;
};
using Command = std::variant<OperationCommand, BarrierCommand>;

// What an operation must pass, after validation, before it enters a group
// (Ledger::Submit's checks: signature, precheck, the pending index), run on
// the applying thread for a logged group. `accept_legacy` is the setting the
// group was recorded with. Returns the operation's pending ticket.
using OperationCheck = std::function<Result<std::uint64_t>(const std::shared_ptr<Operation>& op, bool accept_legacy)>;

class Sequencer {
 public:
  // A group waits for more operations only while it has fewer than this.
  static constexpr std::size_t kGatherBelow = 8;

  // `metrics` is recorded into after each group; it must outlive the sequencer.
  // `read_cache` is told, after each COMMIT, which accounts the group wrote.
  Sequencer(std::unique_ptr<store::Database> writer, const LedgerOptions& options, const ModuleRegistry& registry,
            PendingOperations& pending, AccountReadCache& read_cache, LedgerMetrics& metrics);
  ~Sequencer();  // Stop()

  // Thread-safe: a listener added now gets every group committed after this returns.
  void AddListener(ChangeListener* listener);
  void RemoveListener(ChangeListener* listener);
  void Start();
  // Applies what is queued, then stops the thread. Later commands are refused.
  void Stop();
  // Queues a command; answers it at once with an error when the node is
  // shutting down ("shutting_down"), the queue is full ("queue_full") or a
  // commit failed earlier ("store_failed"). With `may_apply_here`, when no
  // group is being applied and nothing is queued, the command is applied and
  // committed as a group of one on the calling thread before this returns
  // (its callback and the listeners run here); the caller must hold no lock
  // that a callback or listener takes.
  void Enqueue(Command command, bool may_apply_here = false);
  // A submission arrives (thread-safe): call before checking it, and keep
  // the Arrival in its OperationCommand (or drop it with the operation).
  Arrival Announce();

  // The account rows' write-back (unwritten_rows.h), set before Start():
  // Stop() then writes every unwritten row back.
  void EnableWriteBack(UnwrittenRows& rows, double sweep_seconds);
  // The input log (input_log.h), set before Start(); without one every
  // commit syncs.
  void SetInputLog(InputLog* log) { input_log_ = log; }
  // If the log is set, no group is being applied and nothing is queued: on
  // the calling thread, records the validated `op` and the due system
  // operations in the input log, runs `check` on `op` while the record is
  // synced, applies the group and commits it without a sync, waits for the
  // record, then publishes the group and answers `done` (a failed check is
  // answered at once); returns true. Otherwise returns false and leaves `op`
  // and `done` alone. Same caller rule as Enqueue's `may_apply_here`.
  // Neither applies on the caller's thread while submissions overlap (see
  // the top of this file).
  bool ApplyLoggedIfIdle(std::shared_ptr<Operation>& op, const OperationCheck& check, ReceiptCallback& done,
                         Arrival& arrival);
  // Before Start(): applies records of the input log that the store does not
  // hold, in order, each as it was applied (its timestamp, its checks, its
  // system operations), each committed with a sync.
  Status Replay(std::vector<InputLog::Record> records, const OperationCheck& check);
  // The seq of the last logged group the store holds (0: none).
  Result<std::uint64_t> InputPosition();
  // Commits the input position with a sync (every earlier commit is then
  // durable) and rewinds the log. Before Start().
  Status SyncInputPosition();
  std::size_t depth() const;
  std::int64_t Now() const;

 private:
  void Run();
  void ApplyHere(Command command);
  // How a group's commit is made durable: `input_seq` 0, by its own sync;
  // otherwise it is that input log record's group, whose commit syncs only
  // if `synced` (a replay) and otherwise waits for the record.
  struct GroupLog {
    std::uint64_t input_seq = 0;
    bool synced = true;
  };
  void ProcessGroup(std::vector<Command>& group, std::int64_t ts, GroupLog log);
  Status CommitGroup(store::Transaction& tx);
  // A group of its own, with no operation, that writes back the account
  // rows whose turn has come (all: every unwritten one).
  Status WriteBackGroup(bool all);
  // A commit failed earlier (sticky): nothing is written any more.
  bool StoreFailed() const;
  void AddDueSystemOperations(std::vector<Command>& group, std::int64_t ts);
  // What the modules say is due at `ts`, read from the store (errors logged).
  std::vector<Operation> DueSystemOperations(std::int64_t ts);
  void ReleaseToken();
  // mu_ held throughout (the waits release it).
  void TakeQueued(std::vector<Command>& group);
  // While requests overlap, kGatherBelow (or max_group if smaller); else 0:
  // no group waits.
  std::size_t GroupWanted() const;
  // Whether `group` (smaller than `wanted`) waits, as the rules at the top
  // of this file say; counts it as the last group and the skipped waits.
  bool MayWait(const std::vector<Command>& group, std::size_t wanted);
  static bool HasBarrier(const std::vector<Command>& group);
  bool MayApplyOnCaller() const;
  // `group` taken off the queue, the token held: waits for more while the
  // group is smaller than GroupWanted() (see the top of this file). An
  // empty group (a second without requests) ends the overlap.
  void GatherMore(std::unique_lock<std::mutex>& lock, std::vector<Command>& group);
  // The group's submitted operations are answered: no longer open.
  void CloseArrivals(std::vector<Command>& group);
  friend class Arrival;
  void Depart(std::size_t n);
  std::int64_t GroupTimestamp();

  std::unique_ptr<store::Database> writer_;
  const LedgerOptions& options_;
  const ModuleRegistry& registry_;
  PendingOperations& pending_;
  AccountReadCache& read_cache_;
  LedgerMetrics& metrics_;
  Executor exec_;
  InputLog* input_log_ = nullptr;
  bool write_back_ = false;  // guarded by mu_ once started: Stop() writes back once
  mutable std::mutex listeners_mu_;
  std::vector<ChangeListener*> listeners_;  // guarded by listeners_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  bool running_ = false;       // guarded by mu_: Start() was called
  // guarded by mu_: a thread is applying a group. Whoever sets it owns
  // exec_, writer_ and last_system_check_ until it clears it.
  bool applying_ = false;
  std::optional<Error> failed_;  // guarded by mu_: sticky after a failed commit
  // The group wait's state, guarded by mu_ (see the top of this file).
  static constexpr std::uint32_t kOverlapAll = 1024;
  // Submitted operations announced and not answered yet.
  std::size_t open_ = 0;
  // The share of recent arrivals that found others open: a moving average
  // over ~16 arrivals, kOverlapAll = all.
  std::uint32_t overlap_ = 0;
  // While the sequencer waits for its group to grow: the operations it
  // still wants (0: not waiting).
  std::size_t gather_need_ = 0;
  // The size of the sequencer thread's last group (as committed).
  std::size_t last_group_ = 0;
  // After waits that gathered nothing: how many groups will not wait, and
  // how many the next such wait makes skip.
  std::uint32_t skip_waits_ = 0;
  std::uint32_t backoff_ = 1;
  std::thread thread_;
  std::int64_t last_system_check_ = 0;  // the applying thread only
};

}  // namespace kray::state
