// The sequencer (see sequencer.h).
#include "sequencer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace kray::state {
namespace {

constexpr std::size_t kMaxQueue = 200000;           // back-pressure: 503 beyond this
constexpr std::size_t kMaxCachedEntries = 2000000;  // write-cache trim threshold

std::int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Error StoreFailed(const Error& why) {
  return Error{ErrorKind::kUnavailable, "store_failed",
               "the store failed to commit earlier (" + why.message + "); restart krayd"};
}

void Answer(Command& c, Result<Receipt> r) {
  if (auto* op = std::get_if<OperationCommand>(&c)) {
    op->done(std::move(r));
  } else {
    std::get<BarrierCommand>(c).done();
  }
}

}  // namespace

Sequencer::Sequencer(std::unique_ptr<store::Database> writer, const LedgerOptions& options,
                     const ModuleRegistry& registry, PendingOperations& pending, LedgerMetrics& metrics,
                     SyncFunction sync)
    : writer_(std::move(writer)),
      options_(options),
      registry_(registry),
      pending_(pending),
      metrics_(metrics),
      exec_(*writer_, options_.params, registry_),
      sync_(std::move(sync)) {}

Sequencer::~Sequencer() {
  Stop();
}

void Sequencer::AddListener(ChangeListener* listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(listener);
}

void Sequencer::RemoveListener(ChangeListener* listener) {
  std::lock_guard lock(listeners_mu_);
  std::erase(listeners_, listener);
}

void Sequencer::Start() {
  settler_ = std::thread([this] { RunSettler(); });
  thread_ = std::thread([this] { Run(); });
}

void Sequencer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The sequencer has handed over its last group; the settler answers it and exits.
  if (settler_.joinable()) settler_.join();
}

std::int64_t Sequencer::Now() const {
  return WallSeconds() + options_.clock_offset;
}

std::size_t Sequencer::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Sequencer::Enqueue(Command command) {
  std::unique_lock lock(mu_);
  std::optional<Error> refuse;
  if (failed_) {
    refuse = StoreFailed(*failed_);
  } else if (stopping_) {
    refuse = Error::Unavailable("shutting_down", "node is shutting down");
  } else if (queue_.size() >= kMaxQueue) {
    refuse = Error::Unavailable("queue_full", "sequencer queue is full, retry later");
  }
  if (refuse) {
    lock.unlock();
    if (auto* op = std::get_if<OperationCommand>(&command)) pending_.Remove(op->ticket);
    return Answer(command, *refuse);
  }
  bool was_empty = queue_.empty();
  queue_.push_back(std::move(command));
  lock.unlock();
  if (was_empty) cv_.notify_one();
}

void Sequencer::Run() {
  pthread_setname_np(pthread_self(), "kray-sequencer");
  std::vector<Command> group;
  for (;;) {
    group.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      TakeQueued(group);
    }
    AddDueSystemOperations(group);
    if (!group.empty()) ProcessGroup(group);
  }
  {
    std::lock_guard lock(mu_);
    sequencer_done_ = true;
  }
  settler_cv_.notify_all();
}

void Sequencer::TakeQueued(std::vector<Command>& group) {
  while (!queue_.empty() && group.size() < options_.max_group) {
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

// Called with a group open and applied: while the settler is still syncing
// earlier groups, committing now would only queue another sync behind it, so
// wait for either more commands (applied into this group) or an idle settler
// (commit now). Returns whether the group grew.
bool Sequencer::TakeMoreWhileSyncing(std::vector<Command>& group) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return settler_idle_ || stopping_ || !queue_.empty(); });
  std::size_t before = group.size();
  TakeQueued(group);
  return group.size() > before;
}

std::int64_t Sequencer::GroupTimestamp() {
  // Never earlier than an operation already recorded: replay and expiry
  // rules see a clock that does not run backwards.
  auto last = exec_.LastTimestamp();
  std::int64_t now = Now();
  return last.ok() ? std::max(now, *last) : now;
}

void Sequencer::AddDueSystemOperations(std::vector<Command>& group) {
  std::int64_t now = Now();
  if (now == last_system_check_) return;
  last_system_check_ = now;
  for (const Module* m : registry_.modules()) {
    auto due = m->DueSystemOperations(*writer_, GroupTimestamp());
    if (!due.ok()) {
      spdlog::error("module {}: system operations: {}", m->name(), due.error().message);
      continue;
    }
    for (auto& op : *due) {
      group.push_back(OperationCommand{std::move(op), [](Result<Receipt> r) {
                                         if (!r.ok())
                                           spdlog::warn("system operation failed: {} ({})", r.error().message,
                                                        r.error().code);
                                       }});
    }
  }
}

Result<Receipt> Sequencer::ExecuteCommand(Command& c, std::int64_t timestamp) {
  auto* cmd = std::get_if<OperationCommand>(&c);
  if (!cmd) return Error::Internal("barrier");
  // Operations from Submit() were validated there; system operations are
  // validated here, by the same code.
  Status valid = cmd->op.auth == Auth::kSystem ? ValidateOperation(options_.params, registry_, cmd->op) : Ok();
  if (!valid.ok()) return std::move(valid).error();
  return exec_.Execute(cmd->op, timestamp);
}

void Sequencer::ProcessGroup(std::vector<Command>& group) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<Result<Receipt>> results;
  results.reserve(group.size());
  std::optional<Error> failed;
  {
    std::lock_guard lock(mu_);
    failed = failed_;
  }
  if (failed) {  // queued before the failure: refused like anything after it
    for (std::size_t i = 0; i < group.size(); ++i) results.emplace_back(StoreFailed(*failed));
    return Settle(Settled{std::move(group), std::move(results), nullptr, std::nullopt});
  }
  const std::int64_t ts = GroupTimestamp();
  GroupChanges changes;
  Status group_status = Ok();
  {
    store::Transaction tx(*writer_);
    group_status = tx.status();
    if (group_status.ok()) {
      for (;;) {
        for (std::size_t i = results.size(); i < group.size(); ++i) results.push_back(ExecuteCommand(group[i], ts));
        if (!sync_ || group.size() >= options_.max_group || !TakeMoreWhileSyncing(group)) break;
      }
      auto finished = exec_.FinishGroup();
      if (finished.ok()) {
        changes = std::move(*finished);
        auto commit_start = Clock::now();
        group_status = tx.Commit();
        metrics_.commit_seconds.Observe(std::chrono::duration<double>(Clock::now() - commit_start).count());
      } else {
        group_status = std::move(finished).error();
      }
    }
    if (!group_status.ok()) tx.Rollback();
  }
  Settled settled;
  if (!group_status.ok()) {
    spdlog::error("sequencer: group of {} rolled back: {}", group.size(), group_status.error().message);
    metrics_.groups_failed.Inc();
    exec_.Abort();
    {
      std::lock_guard lock(mu_);
      failed_ = group_status.error();  // sticky: no write is retried into a half-known state
    }
    for (auto& r : results)
      if (r.ok()) r = group_status.error();
    settled.rolled_back = group_status.error();
  }
  exec_.TrimCache(kMaxCachedEntries);
  if (group_status.ok() && !changes.operations.empty()) {
    metrics_.group_operations.Observe(static_cast<double>(changes.operations.size()));
    metrics_.group_seconds.Observe(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    spdlog::debug("sequencer group: {} commands, {} operations, {} leaves, {} us", group.size(),
                  changes.operations.size(), changes.leaves.size(), us);
  }
  if (group_status.ok() && !changes.operations.empty())
    settled.changes = std::make_shared<const GroupChanges>(std::move(changes));
  settled.commands = std::move(group);
  settled.results = std::move(results);
  group = {};
  Settle(std::move(settled));
}

void Sequencer::Settle(Settled group) {
  {
    std::lock_guard lock(mu_);
    settled_.push_back(std::move(group));
  }
  settler_cv_.notify_one();
}

void Sequencer::RunSettler() {
  pthread_setname_np(pthread_self(), "kray-settler");
  std::deque<Settled> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      settler_idle_ = true;
      cv_.notify_all();  // a sequencer holding its group open for this sync can commit now
      settler_cv_.wait(lock, [&] { return !settled_.empty() || sequencer_done_; });
      settler_idle_ = false;
      if (settled_.empty()) break;
      batch.swap(settled_);
    }
    SettleBatch(batch);
  }
}

// One sync for every group in `batch`, then, in commit order: listeners
// first (once a submitter has its receipt, every follower, the rollup index
// and the event feed, already has the group queued), then the answers.
void Sequencer::SettleBatch(std::deque<Settled>& batch) {
  bool committed = std::any_of(batch.begin(), batch.end(), [](const Settled& g) { return g.changes != nullptr; });
  Status synced = sync_failed_ ? Status(*sync_failed_) : Ok();
  if (sync_ && committed && synced.ok()) {
    auto start = std::chrono::steady_clock::now();
    synced = sync_();
    metrics_.sync_seconds.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (!synced.ok()) {
    // The groups are in the store but maybe not on disk: nothing is
    // acknowledged, no follower sees them, and no write is taken any more.
    if (!sync_failed_) {
      spdlog::error("sequencer: WAL sync failed: {}; refusing writes until restart", synced.error().message);
      metrics_.groups_failed.Inc();
      sync_failed_ = synced.error();
      std::lock_guard lock(mu_);
      if (!failed_) failed_ = synced.error();
    }
  }
  for (Settled& g : batch) {
    {
      std::lock_guard lock(listeners_mu_);
      for (ChangeListener* l : listeners_) {
        if (g.rolled_back) {
          l->OnGroupRolledBack(*g.rolled_back);
        } else if (g.changes && synced.ok()) {
          l->OnGroupCommitted(g.changes);
        }
      }
    }
    for (std::size_t i = 0; i < g.commands.size(); ++i) {
      if (auto* cmd = std::get_if<OperationCommand>(&g.commands[i])) pending_.Remove(cmd->ticket);
      Result<Receipt>& r = g.results[i];
      if (!synced.ok() && g.changes && r.ok()) r = StoreFailed(synced.error());
      Answer(g.commands[i], std::move(r));
    }
  }
}

}  // namespace kray::state
