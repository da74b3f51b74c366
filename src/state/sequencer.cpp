// The sequencer (see sequencer.h).
#include "sequencer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <iterator>

namespace kray::state {
namespace {

constexpr std::size_t kMaxQueue = 200000;  // back-pressure: 503 beyond this
// After a wait that gathered nothing, the next `backoff` groups that would
// wait do not (doubled by each such wait, up to this; one that gathers
// halves it).
constexpr std::uint32_t kMaxWaitBackoff = 1024;

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

// The input log record whose group this transaction is (Sequencer::InputPosition).
Status WriteInputPosition(store::Database& db, std::uint64_t seq) {
  auto st =
      db.Use("INSERT INTO counters (name, value) VALUES ('input_seq', ?1) ON CONFLICT(name) DO UPDATE SET value = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, static_cast<std::int64_t>(seq));
  return (*st)->Run();
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

Arrival& Arrival::operator=(Arrival&& other) noexcept {
  if (this != &other) {
    if (seq_) seq_->Depart(1);
    seq_ = std::exchange(other.seq_, nullptr);
  }
  return *this;
}

Arrival::~Arrival() {
  if (seq_) seq_->Depart(1);
}

Arrival Sequencer::Announce() {
  if (options_.group_wait.count() == 0) return Arrival();  // nothing will wait: nothing to count
  std::lock_guard lock(mu_);
  // One client sending one request after another finds none open.
  overlap_ = overlap_ - overlap_ / 16 + (open_ > 0 ? kOverlapAll / 16 : 0);
  ++open_;
  return Arrival(this);
}

void Sequencer::Depart(std::size_t n) {
  std::lock_guard lock(mu_);
  open_ -= n;
}

void Sequencer::CloseArrivals(std::vector<Command>& group) {
  std::size_t n = 0;
  for (auto& c : group) {
    if (auto* op = std::get_if<OperationCommand>(&c)) n += op->arrival.Release() ? 1 : 0;
  }
  if (n > 0) Depart(n);
}

std::size_t Sequencer::GroupWanted() const {
  if (options_.group_wait.count() == 0) return 0;
  return overlap_ >= kOverlapAll / 2 ? std::min(kGatherBelow, options_.max_group) : 0;
}

bool Sequencer::MayApplyOnCaller() const {
  return running_ && !applying_ && queue_.empty() && GroupWanted() == 0;
}

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
  // The cache fills with the accounts transfers touch, up to the trim bound
  // (an account and its balance row are two entries: max_cached_entries).
  // The count is a counter row; if it cannot be read the tables just grow
  // as they fill.
  auto accounts = store::QueryInt(*writer_, "SELECT value FROM counters WHERE name='accounts'");
  if (accounts.ok() && *accounts > 0)
    exec_.ReserveCache(std::min(static_cast<std::size_t>(*accounts), options_.max_cached_entries / 2));
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
  {
    std::lock_guard lock(mu_);
    // Not while a submitter applies a group, nor into a failed store: the
    // records left are applied at the next open all the same.
    if (!write_back_ || applying_ || failed_) return;
    write_back_ = false;
  }
  Status s = WriteBackGroup(true);
  if (!s.ok())
    spdlog::warn("account rows: the write-back at shutdown failed ({}); done at the next start", s.error().message);
}

void Sequencer::EnableWriteBack(UnwrittenRows& rows, double sweep_seconds) {
  exec_.EnableWriteBack(rows, sweep_seconds);
  write_back_ = true;
}

Status Sequencer::WriteBackGroup(bool all) {
  store::Transaction tx(*writer_);
  Status s = tx.status();
  if (s.ok()) {
    if (all) exec_.WriteBackAll();
    s = exec_.FlushGroup();
  }
  // No operation and no account changed: not a group for the commit
  // metrics, the read cache or after_commit.
  if (s.ok()) s = tx.Commit();
  if (s.ok()) exec_.Committed();
  if (!s.ok()) {
    tx.Rollback();
    exec_.Abort();
  }
  return s;
}

bool Sequencer::StoreFailed() const {
  std::lock_guard lock(mu_);
  return failed_.has_value();
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
  if (may_apply_here && MayApplyOnCaller()) {
    applying_ = true;
    lock.unlock();
    return ApplyHere(std::move(command));
  }
  queue_.push_back(std::move(command));
  // The sequencer sleeps on an empty queue, or waits for a group to grow.
  const bool wake = gather_need_ > 0 ? queue_.size() >= gather_need_ : queue_.size() == 1;
  lock.unlock();
  if (wake) cv_.notify_one();
}

void Sequencer::ApplyHere(Command command) {
  std::vector<Command> group;
  group.push_back(std::move(command));
  // As on the sequencer thread: an exception here is a bug that would leave
  // the token held and every later write queued forever; crash loudly.
  try {
    const std::int64_t ts = GroupTimestamp();
    AddDueSystemOperations(group, ts);  // the token's holder owns this duty too
    ProcessGroup(group, ts, GroupLog{});
  } catch (const std::exception& e) {
    spdlog::critical("sequencer: applying a group threw: {}", e.what());
    std::terminate();
  }
  ReleaseToken();
}

void Sequencer::ReleaseToken() {
  std::lock_guard lock(mu_);
  applying_ = false;
  // Queued meanwhile (or stopping): the sequencer thread takes over.
  // Notified under the lock: once it is released, Stop() may return and
  // the sequencer be destroyed.
  if (!queue_.empty() || stopping_) cv_.notify_one();
}

bool Sequencer::ApplyLoggedIfIdle(std::shared_ptr<Operation>& op, const OperationCheck& check, ReceiptCallback& done,
                                  Arrival& arrival) {
  if (!input_log_) return false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || failed_ || !MayApplyOnCaller()) return false;
    applying_ = true;
  }
  try {
    std::vector<Command> group;
    const std::int64_t ts = GroupTimestamp();
    AddDueSystemOperations(group, ts);
    const bool accept_legacy = options_.accept_legacy;
    std::vector<const Operation*> system_ops;
    for (const auto& c : group) system_ops.push_back(std::get<OperationCommand>(c).op.get());
    GroupLog log;
    auto seq = input_log_->Append(EncodeLoggedGroup(ts, accept_legacy, *op, system_ops));
    if (!seq.ok()) spdlog::error("sequencer: {}; committing with a sync instead", seq.error().message);
    if (seq.ok() && seq->has_value()) {
      log = {**seq, false};
      metrics_.logged_groups.Inc();
      input_log_->RequestSync();  // runs while the operation is checked and applied
    }
    // Without a record (the log is full, or failed), the group commits with
    // a sync, after which the log starts again (ProcessGroup).
    auto ticket = check(op, accept_legacy);
    if (ticket.ok()) {
      group.insert(group.begin(), OperationCommand{std::move(op), std::move(done), *ticket, std::move(arrival)});
    } else {
      done(std::move(ticket).error());
    }
    // Even with nothing to apply the group commits its input position: a
    // record the store does not hold is applied again at the next open, and
    // must then meet the state it met here.
    ProcessGroup(group, ts, log);
  } catch (const std::exception& e) {
    spdlog::critical("sequencer: applying a logged group threw: {}", e.what());
    std::terminate();
  }
  ReleaseToken();
  return true;
}

Status Sequencer::Replay(std::vector<InputLog::Record> records, const OperationCheck& check) {
  for (auto& rec : records) {
    auto record = DecodeLoggedGroup(rec.payload);
    if (!record.ok())
      return Error::Internal("input log record " + std::to_string(rec.seq) + ": " + record.error().message);
    std::vector<Command> group;
    const auto report = [seq = rec.seq](Result<Receipt> r) {
      if (!r.ok())
        spdlog::info("input log record {}: not applied again: {} ({})", seq, r.error().message, r.error().code);
    };
    // The system operations are the modules' again, not the record's: the
    // record says only that the group had some. The modules derive them from
    // the store and the time, which are as they were; so whoever can write
    // the log cannot make the node apply one of their choosing.
    if (!record->system_ops.empty()) {
      auto due = DueSystemOperations(record->timestamp);
      auto encoded = [](const std::vector<Operation>& ops) {
        std::vector<Bytes> out;
        for (const auto& o : ops) out.push_back(EncodeSubmittedOperation(o));
        return out;
      };
      if (encoded(due) != encoded(record->system_ops))
        spdlog::warn("input log record {}: its system operations differ from the ones due; applying the ones due",
                     rec.seq);
      for (auto& sys : due)
        group.push_back(OperationCommand{std::make_shared<Operation>(std::move(sys)), report, 0, {}});
    }
    auto op = std::make_shared<Operation>(std::move(record->submitted));
    // Only what a submitter may log (Ledger::Submit): the operator's
    // operations always commit with a sync of their own.
    Status valid = op->auth == Auth::kSigned || op->auth == Auth::kPublic
                       ? ValidateOperation(options_.params, registry_, *op)
                       : Error::Unauthorized("not_logged", "only signed and public operations are logged");
    auto ticket = valid.ok() ? check(op, record->accept_legacy) : Result<std::uint64_t>(valid.error());
    if (ticket.ok()) {
      group.insert(group.begin(), OperationCommand{std::move(op), report, *ticket, {}});
    } else {
      report(std::move(ticket).error());
    }
    ProcessGroup(group, record->timestamp, GroupLog{rec.seq, true});
    metrics_.input_records_replayed.Inc();
    std::lock_guard lock(mu_);
    if (failed_) return *failed_;
  }
  return Ok();
}

Status Sequencer::CommitGroup(store::Transaction& tx) {
  using Clock = std::chrono::steady_clock;
  auto commit_start = Clock::now();
  // Around the COMMIT, before anyone hears of the group: no reader is
  // served these accounts from memory as they were once the store shows
  // them changed.
  read_cache_.BeginWrite(exec_.WrittenAccounts());
  exec_.StageUnwritten();  // unwritten_rows.h: for readers whose snapshot holds the group
  Status s = tx.Commit();
  if (s.ok()) exec_.Committed();  // the unwritten rows' images, for readers (unwritten_rows.h)
  read_cache_.EndWrite(exec_.WrittenAccounts());
  metrics_.commit_seconds.Observe(std::chrono::duration<double>(Clock::now() - commit_start).count());
  if (s.ok() && options_.after_commit) options_.after_commit();
  return s;
}

Result<std::uint64_t> Sequencer::InputPosition() {
  auto st = writer_->Use("SELECT value FROM counters WHERE name = 'input_seq'");
  if (!st.ok()) return std::move(st).error();
  auto row = (*st)->Step();
  if (!row.ok()) return std::move(row).error();
  return *row ? static_cast<std::uint64_t>((*st)->Int64(0)) : 0;
}

Status Sequencer::SyncInputPosition() {
  auto pos = InputPosition();
  if (!pos.ok()) return std::move(pos).error();
  store::Transaction tx(*writer_);
  KRAY_TRY(tx.status());
  KRAY_TRY(WriteInputPosition(*writer_, std::max(*pos, input_log_ ? input_log_->last_seq() : 0)));
  KRAY_TRY(tx.Commit());
  if (input_log_) input_log_->Rewind();
  return Ok();
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
      TakeQueued(group);
      applying_ = true;
      GatherMore(lock, group);
    }
    const std::int64_t ts = GroupTimestamp();
    AddDueSystemOperations(group, ts);
    if (!group.empty()) {
      ProcessGroup(group, ts, GroupLog{});
    } else if (write_back_ && exec_.WriteBackDue() && !StoreFailed()) {
      // Idle: the sweep goes on by itself (about once a second), so rows
      // are written back within about `writeback` seconds under no load too.
      Status s = WriteBackGroup(false);
      if (!s.ok()) {
        spdlog::error("sequencer: the account rows' write-back failed: {}", s.error().message);
        metrics_.groups_failed.Inc();
        std::lock_guard lock(mu_);
        failed_ = s.error();
      }
    }
    std::lock_guard lock(mu_);
    applying_ = false;
  }
}

bool Sequencer::HasBarrier(const std::vector<Command>& group) {
  for (const auto& c : group)
    if (std::holds_alternative<BarrierCommand>(c)) return true;
  return false;
}

void Sequencer::TakeQueued(std::vector<Command>& group) {
  while (!queue_.empty() && group.size() < options_.max_group) {
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void Sequencer::GatherMore(std::unique_lock<std::mutex>& lock, std::vector<Command>& group) {
  if (group.empty()) {
    // A second without a request: whatever overlapped is over.
    overlap_ = 0;
    return;
  }
  // At most as many again as it has: the clients of a group that holds
  // them all cannot send more before it is answered, and a wait for them
  // would last until its deadline.
  const std::size_t wanted = std::min(GroupWanted(), 2 * group.size());
  if (!MayWait(group, wanted)) return;
  const std::size_t had = group.size();
  const auto deadline = std::chrono::steady_clock::now() + options_.group_wait;
  while (group.size() < wanted && !stopping_) {
    gather_need_ = wanted - group.size();
    const bool timed_out = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
    TakeQueued(group);
    if (timed_out) break;
  }
  gather_need_ = 0;
  last_group_ = group.size();
  metrics_.group_waits.Inc();
  metrics_.operations_gathered.Inc(group.size() - had);
  if (group.size() > had) {
    backoff_ = std::max<std::uint32_t>(1, backoff_ / 2);
  } else {
    skip_waits_ = backoff_;
    backoff_ = std::min(backoff_ * 2, kMaxWaitBackoff);
  }
}

bool Sequencer::MayWait(const std::vector<Command>& group, std::size_t wanted) {
  // Not after a large group: a saturated node's groups are large, and one
  // that is small now and then has no time to lose. Large as committed: a
  // group that gathered kGatherBelow lets the next one go without a wait,
  // which halves what a closed loop of a few clients loses to the waits.
  // Nor for a barrier (Ledger::Flush), which waits on this group.
  const bool after_large = last_group_ >= kGatherBelow;
  last_group_ = group.size();
  if (group.size() >= wanted || stopping_ || after_large || HasBarrier(group)) return false;
  if (skip_waits_ == 0) return true;
  --skip_waits_;
  return false;
}

std::int64_t Sequencer::GroupTimestamp() {
  // Never earlier than an operation already recorded: replay and expiry
  // rules see a clock that does not run backwards.
  auto last = exec_.LastTimestamp();
  std::int64_t now = Now();
  return last.ok() ? std::max(now, *last) : now;
}

void Sequencer::AddDueSystemOperations(std::vector<Command>& group, std::int64_t ts) {
  std::int64_t now = Now();
  if (now == last_system_check_) return;
  last_system_check_ = now;
  const auto report = [](Result<Receipt> r) {
    if (!r.ok()) spdlog::warn("system operation failed: {} ({})", r.error().message, r.error().code);
  };
  for (auto& op : DueSystemOperations(ts))
    group.push_back(OperationCommand{std::make_shared<Operation>(std::move(op)), report, 0, {}});
}

std::vector<Operation> Sequencer::DueSystemOperations(std::int64_t ts) {
  std::vector<Operation> out;
  for (const Module* m : registry_.modules()) {
    auto due = m->DueSystemOperations(*writer_, ts);
    if (!due.ok()) {
      spdlog::error("module {}: system operations: {}", m->name(), due.error().message);
      continue;
    }
    std::move(due->begin(), due->end(), std::back_inserter(out));
  }
  return out;
}

void Sequencer::ProcessGroup(std::vector<Command>& group, std::int64_t ts, GroupLog log) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<Result<Receipt>> results;
  results.reserve(group.size());
  GroupChanges changes;
  const bool unsynced = log.input_seq != 0 && !log.synced;
  // Without the batching VFS the commit syncs after all: slower, as durable.
  if (unsynced) (void)writer_->SetCommitsSynced(false);
  Status group_status = Ok();
  bool committed = false;
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
        Status valid = cmd->op->auth == Auth::kSystem ? ValidateOperation(options_.params, registry_, *cmd->op) : Ok();
        // The receipt carries the operation back to its submitter.
        results.push_back(valid.ok() ? exec_.Execute(std::move(cmd->op), ts) : Result<Receipt>(valid.error()));
      }
      auto finished = exec_.FinishGroup();
      if (finished.ok()) {
        changes = std::move(*finished);
        if (log.input_seq != 0) group_status = WriteInputPosition(*writer_, log.input_seq);
      } else {
        group_status = std::move(finished).error();
      }
      if (group_status.ok()) group_status = CommitGroup(tx);
      committed = group_status.ok();
    }
    if (!group_status.ok()) tx.Rollback();
  }
  if (unsynced) {
    (void)writer_->SetCommitsSynced(true);
    // Published and answered only once its record is durable.
    if (group_status.ok()) group_status = input_log_->WaitDurable(log.input_seq);
  } else if (committed && input_log_ && input_log_->used() > 0) {
    input_log_->Rewind();  // this commit synced every one before it
  }
  if (!group_status.ok()) {
    spdlog::error("sequencer: group of {} {}: {}", group.size(),
                  committed ? "committed but not made durable" : "rolled back", group_status.error().message);
    metrics_.groups_failed.Inc();
    exec_.Abort();
    {
      std::lock_guard lock(mu_);
      failed_ = group_status.error();  // sticky: no write is retried into a half-known state
    }
    results.resize(group.size(), group_status.error());
    for (auto& r : results)
      if (r.ok()) r = group_status.error();
    if (!committed) {
      std::lock_guard lock(listeners_mu_);
      for (ChangeListener* l : listeners_) l->OnGroupRolledBack(group_status.error());
    }
  }
  if (exec_.TrimCache(options_.max_cached_entries)) metrics_.account_cache_clears.Inc();
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
  // No longer open before anyone is answered: a submitter's next request
  // must not find its own last one open.
  CloseArrivals(group);
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (auto* cmd = std::get_if<OperationCommand>(&group[i])) pending_.Remove(cmd->ticket);
    Answer(group[i], std::move(results[i]));
  }
}

}  // namespace kray::state
