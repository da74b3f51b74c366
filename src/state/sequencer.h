// Internal: the sequencer, the single writer. One thread owns the write
// connection and an Executor; it takes up to max_group queued commands,
// applies them inside one SQLite transaction and commits. A second thread
// (the settler) makes committed groups durable, one WAL sync for every group
// committed since the last (store/wal_sync.h), then publishes their change
// sets and answers them, in commit order. While a sync is in flight the
// sequencer keeps applying what arrives into its open group, so the groups
// grow with the load and the CPU work overlaps the disk's. About once a
// second it asks the modules for system operations that are due and applies
// them the same way.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "key_cache.h"
#include "kray/state/changes.h"
#include "kray/state/executor.h"
#include "kray/state/ledger.h"
#include "kray/store/database.h"
#include "pending.h"

namespace kray::state {

// Apply one operation; `ticket` is its entry in PendingOperations (0: none).
struct OperationCommand {
  Operation op;
  ReceiptCallback done;
  std::uint64_t ticket = 0;
};
// Answered once everything queued before it has been committed.
struct BarrierCommand {
  std::function<void()> done;
};
using Command = std::variant<OperationCommand, BarrierCommand>;

// Makes every commit made before the call durable (WalSync::Sync), or fails.
using SyncFunction = std::function<Status()>;

class Sequencer {
 public:
  // `metrics` is recorded into after each group; it must outlive the sequencer.
  // `sync` is called before committed groups are answered; empty when the
  // writer's own commits are as durable as configured (synchronous=NORMAL).
  Sequencer(std::unique_ptr<store::Database> writer, const LedgerOptions& options, const ModuleRegistry& registry,
            PendingOperations& pending, LedgerMetrics& metrics, SyncFunction sync);
  ~Sequencer();  // Stop()

  // Thread-safe: a listener added now gets every group committed after this returns.
  void AddListener(ChangeListener* listener);
  void RemoveListener(ChangeListener* listener);
  void Start();
  // Applies what is queued, then stops the thread. Later commands are refused.
  void Stop();
  // Queues a command; answers it at once with an error when the node is
  // shutting down ("shutting_down"), the queue is full ("queue_full") or a
  // commit failed earlier ("store_failed").
  void Enqueue(Command command);
  std::size_t depth() const;
  std::int64_t Now() const;

 private:
  // A group after its commit (or rollback), waiting for the settler.
  struct Settled {
    std::vector<Command> commands;
    std::vector<Result<Receipt>> results;
    std::shared_ptr<const GroupChanges> changes;  // null: nothing committed
    std::optional<Error> rolled_back;
  };

  void Run();
  void ProcessGroup(std::vector<Command>& group);
  Result<Receipt> ExecuteCommand(Command& c, std::int64_t timestamp);
  bool TakeMoreWhileSyncing(std::vector<Command>& group);
  void TakeQueued(std::vector<Command>& group);  // mu_ held
  void AddDueSystemOperations(std::vector<Command>& group);
  std::int64_t GroupTimestamp();
  void Settle(Settled group);

  void RunSettler();
  void SettleBatch(std::deque<Settled>& batch);

  std::unique_ptr<store::Database> writer_;
  const LedgerOptions& options_;
  const ModuleRegistry& registry_;
  PendingOperations& pending_;
  LedgerMetrics& metrics_;
  Executor exec_;
  mutable std::mutex listeners_mu_;
  std::vector<ChangeListener*> listeners_;  // guarded by listeners_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;    // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::optional<Error> failed_;  // guarded by mu_: sticky after a failed commit
  std::thread thread_;
  std::int64_t last_system_check_ = 0;  // sequencer thread only

  SyncFunction sync_;
  std::condition_variable settler_cv_;
  std::deque<Settled> settled_;    // guarded by mu_
  bool settler_idle_ = false;      // guarded by mu_: waiting, nothing to settle
  bool sequencer_done_ = false;    // guarded by mu_: no more groups will come
  std::thread settler_;
  std::optional<Error> sync_failed_;  // settler thread only: sticky
};

}  // namespace kray::state
