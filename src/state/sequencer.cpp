// The sequencer (see sequencer.h).
#include "sequencer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace kray::state {
namespace {

constexpr std::size_t kMaxQueue = 200000;           // back-pressure: 503 beyond this
constexpr std::size_t kMaxCachedEntries = 2000000;  // write-cache trim threshold

std::int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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
                     const ModuleRegistry& registry, PendingOperations& pending, AccountReadCache& read_cache,
                     LedgerMetrics& metrics)
    : writer_(std::move(writer)),
      options_(options),
      registry_(registry),
      pending_(pending),
      read_cache_(read_cache),
      metrics_(metrics),
      exec_(*writer_, options_.params, registry_) {}

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
  {
    std::lock_guard lock(mu_);
    running_ = true;
  }
  thread_ = std::thread([this] { Run(); });
}

void Sequencer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t Sequencer::Now() const {
  return WallSeconds() + options_.clock_offset;
}

std::size_t Sequencer::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Sequencer::Enqueue(Command command, bool may_apply_here) {
  std::unique_lock lock(mu_);
  std::optional<Error> refuse;
  if (failed_) {
    refuse = Error{ErrorKind::kUnavailable, "store_failed",
                   "the store failed to commit earlier (" + failed_->message + "); restart krayd"};
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
  if (may_apply_here && running_ && !applying_ && queue_.empty()) {
    applying_ = true;
    lock.unlock();
    return ApplyHere(std::move(command));
  }
  bool was_empty = queue_.empty();
  queue_.push_back(std::move(command));
  lock.unlock();
  if (was_empty) cv_.notify_one();
}

void Sequencer::ApplyHere(Command command) {
  std::vector<Command> group;
  group.push_back(std::move(command));
  // As on the sequencer thread: an exception here is a bug that would leave
  // the token held and every later write queued forever; crash loudly.
  try {
    AddDueSystemOperations(group);  // the token's holder owns this duty too
    ProcessGroup(group);
  } catch (const std::exception& e) {
    spdlog::critical("sequencer: applying a group threw: {}", e.what());
    std::terminate();
  }
  std::lock_guard lock(mu_);
  applying_ = false;
  // Queued meanwhile (or stopping): the sequencer thread takes over.
  // Notified under the lock: once it is released, Stop() may return and
  // the sequencer be destroyed.
  if (!queue_.empty() || stopping_) cv_.notify_one();
}

void Sequencer::Run() {
  pthread_setname_np(pthread_self(), "kray-sequencer");
  std::vector<Command> group;
  for (;;) {
    group.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return !applying_ && (stopping_ || !queue_.empty()); });
      if (applying_) continue;  // timed out while a submitter applies a group
      if (queue_.empty() && stopping_) break;
      while (!queue_.empty() && group.size() < options_.max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      applying_ = true;
    }
    AddDueSystemOperations(group);
    if (!group.empty()) ProcessGroup(group);
    std::lock_guard lock(mu_);
    applying_ = false;
  }
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

void Sequencer::ProcessGroup(std::vector<Command>& group) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<Result<Receipt>> results;
  results.reserve(group.size());
  const std::int64_t ts = GroupTimestamp();
  GroupChanges changes;
  Status group_status = Ok();
  {
    store::Transaction tx(*writer_);
    group_status = tx.status();
    if (group_status.ok()) {
      exec_.ExpectOperations(group.size());
      for (auto& c : group) {
        auto* cmd = std::get_if<OperationCommand>(&c);
        if (!cmd) {
          results.emplace_back(Error::Internal("barrier"));
          continue;
        }
        // Operations from Submit() were validated there; system operations
        // are validated here, by the same code.
        Status valid = cmd->op.auth == Auth::kSystem ? ValidateOperation(options_.params, registry_, cmd->op) : Ok();
        // Moved: the receipt carries the operation back to its submitter.
        results.push_back(valid.ok() ? exec_.Execute(std::move(cmd->op), ts) : Result<Receipt>(valid.error()));
      }
      auto finished = exec_.FinishGroup();
      if (finished.ok()) {
        changes = std::move(*finished);
        auto commit_start = Clock::now();
        // Around the COMMIT, before anyone hears of the group: no reader is
        // served these accounts from memory as they were once the store
        // shows them changed.
        read_cache_.BeginWrite(exec_.WrittenAccounts());
        group_status = tx.Commit();
        read_cache_.EndWrite(exec_.WrittenAccounts());
        metrics_.commit_seconds.Observe(std::chrono::duration<double>(Clock::now() - commit_start).count());
        if (group_status.ok() && options_.after_commit) options_.after_commit();
      } else {
        group_status = std::move(finished).error();
      }
    }
    if (!group_status.ok()) tx.Rollback();
  }
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
    std::lock_guard lock(listeners_mu_);
    for (ChangeListener* l : listeners_) l->OnGroupRolledBack(group_status.error());
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
  // Listeners first: once a submitter has its receipt, every follower (the
  // rollup index, the event feed) already has the group queued.
  if (group_status.ok() && !changes.operations.empty()) {
    auto shared = std::make_shared<const GroupChanges>(std::move(changes));
    std::lock_guard lock(listeners_mu_);
    for (ChangeListener* l : listeners_) l->OnGroupCommitted(shared);
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (auto* cmd = std::get_if<OperationCommand>(&group[i])) pending_.Remove(cmd->ticket);
    Answer(group[i], std::move(results[i]));
  }
}

}  // namespace kray::state
