// The batch recorder (see include/kray/validators/batch_recorder.h).
#include "kray/validators/batch_recorder.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "kray/rollup/batch.h"
#include "kray/rollup/rollup.h"
#include "kray/state/ledger.h"
#include "kray/state/op_log.h"
#include "kray/validators/reads.h"
#include "kray/validators/validators.h"

namespace kray::validators {
namespace {

constexpr auto kPollInterval = std::chrono::seconds(5);
constexpr std::uint64_t kMaxPerRound = 1000;  // batches handled per catch-up round
constexpr std::size_t kReadChunk = 1000;

state::Operation BatchOperationFor(const rollup::BatchHeader& b) {
  state::Operation op;
  op.type = std::string(kBatchOp);
  op.auth = state::Auth::kSystem;
  op.fields = {{"batch", std::to_string(b.number)},
               {"first_seq", std::to_string(b.first_seq)},
               {"gas_retained", "0"},  // set below
               {"last_seq", std::to_string(b.last_seq)}};
  op.evidence = {{"state_root", b.state_root}, {"tx_root", b.tx_root}};
  return op;
}

}  // namespace

struct BatchRecorder::Impl {
  Impl(state::Ledger& l, rollup::Rollup& r) : ledger(l), rollup(r) {}

  state::Ledger& ledger;
  rollup::Rollup& rollup;
  int listener = 0;
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  bool wake = false;      // guarded by mu
  bool stopping = false;  // guarded by mu
  std::thread thread;

  std::mutex record_mu;       // one catch-up at a time
  std::uint64_t checked = 0;  // guarded by record_mu: batches up to here are recorded or skipped

  std::function<void()> between_reads;  // tests only (see Start)

  Status CatchUp();
  Result<std::uint64_t> LastRecorded();
  Result<std::optional<std::uint64_t>> FirstToRecord();
  Result<std::optional<rollup::BatchHeader>> ClosedBatch(std::uint64_t number);
  Result<bool> OnlyHousekeeping(const rollup::BatchHeader& b);
  Result<Amount> GasShare(std::uint64_t from, std::uint64_t last_seq);
  Status Record(const rollup::BatchHeader& b);
  void Run();
};

Result<std::uint64_t> BatchRecorder::Impl::LastRecorded() {
  std::uint64_t number = 0;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    auto last = LastRecordedBatch(db);
    if (!last.ok()) return std::move(last).error();
    if (last->has_value()) number = (*last)->number;
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return number;
}

Result<std::optional<rollup::BatchHeader>> BatchRecorder::Impl::ClosedBatch(std::uint64_t number) {
  std::optional<rollup::BatchHeader> out;
  Status s = rollup.WithReader([&](store::Database& db) -> Status {
    auto b = rollup::GetBatch(db, static_cast<std::int64_t>(number));
    if (!b.ok()) return b.error().code == "batch_not_found" ? Ok() : Status(std::move(b).error());
    out = std::move(*b);
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

// A batch that paid no gas may hold only the validators' own bookkeeping
// (the previous batch's record, attestations, heartbeats): then it is not
// recorded, or every recorded batch would make another for ever.
Result<bool> BatchRecorder::Impl::OnlyHousekeeping(const rollup::BatchHeader& b) {
  if (b.gas_collected > 0) return false;
  bool only = true;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    for (auto from = static_cast<std::uint64_t>(b.first_seq); only && from <= static_cast<std::uint64_t>(b.last_seq);) {
      auto ops = state::OperationsInRange(db, from, static_cast<std::uint64_t>(b.last_seq), kReadChunk);
      if (!ops.ok()) return std::move(ops).error();
      if (ops->empty()) break;
      for (const auto& op : *ops) only = only && IsHousekeeping(op.type);
      from = ops->back().seq + 1;
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return only;
}

// The validators' share of the gas of seq from..last_seq (what the
// operation recomputes and checks).
Result<Amount> BatchRecorder::Impl::GasShare(std::uint64_t from, std::uint64_t last_seq) {
  Amount share = 0;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    while (from <= last_seq) {
      auto ops = state::OperationsInRange(db, from, last_seq, kReadChunk);
      if (!ops.ok()) return std::move(ops).error();
      if (ops->empty()) break;
      for (const auto& op : *ops) share += SplitGas(op.gas_fee).to_validators;  // <= the KRAY supply
      from = ops->back().seq + 1;
    }
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return share;
}

Status BatchRecorder::Impl::Record(const rollup::BatchHeader& b) {
  std::uint64_t from = 1;
  Status read = ledger.WithReader([&](store::Database& db) -> Status {
    auto last = LastRecordedBatch(db);
    if (!last.ok()) return std::move(last).error();
    if (last->has_value()) from = (*last)->last_seq + 1;
    return Ok();
  });
  if (!read.ok()) return read;
  auto share = GasShare(from, static_cast<std::uint64_t>(b.last_seq));
  if (!share.ok()) return std::move(share).error();
  state::Operation op = BatchOperationFor(b);
  state::SetField(op.fields, "gas_retained", std::to_string(*share));
  auto receipt = ledger.SubmitSync(std::move(op));
  if (!receipt.ok()) return std::move(receipt).error();
  if (!receipt->no_change) {
    spdlog::info("validators: batch {} recorded, {} credits of gas to validators ({} distributed)", b.number, *share,
                 state::FindField(receipt->result, "distributed").value_or("0"));
  }
  return Ok();
}

// The first batch this round records, or none: with nothing recorded and
// no validator, the round records nothing at all, not even a batch that
// closes while it runs (one closed after `latest` was read would otherwise
// be found by the loop and recorded without any validator).
Result<std::optional<std::uint64_t>> BatchRecorder::Impl::FirstToRecord() {
  auto recorded = LastRecorded();
  if (!recorded.ok()) return std::move(recorded).error();
  if (*recorded > 0) return std::optional<std::uint64_t>(std::max(*recorded, checked) + 1);
  // Nothing recorded yet: a chain without validators gets no records (and
  // no operations of the recorder) at all; once one registers, the latest
  // closed batch is the first recorded. Older ones could not have paid
  // anybody: their gas stays in the fee pool.
  // The latest closed batch is read before asking whether any validator
  // exists: a batch closed after a validator registered must not be skipped
  // because "none" was read before the registration and "latest" after the
  // batch that holds it closed.
  std::int64_t latest = 0;
  Status r = rollup.WithReader([&](store::Database& db) -> Status {
    auto st = rollup::GetRollupStatus(db);
    if (!st.ok()) return std::move(st).error();
    latest = st->last_batch();
    return Ok();
  });
  if (!r.ok()) return r.error();
  if (between_reads) between_reads();
  bool any = false;
  Status s = ledger.WithReader([&](store::Database& db) -> Status {
    auto n = AnyValidator(db);
    if (!n.ok()) return std::move(n).error();
    any = *n;
    return Ok();
  });
  if (!s.ok()) return s.error();
  if (!any) {
    checked = std::max<std::uint64_t>(checked, static_cast<std::uint64_t>(latest));
    return std::optional<std::uint64_t>();
  }
  return std::optional<std::uint64_t>(std::max<std::uint64_t>(checked + 1, static_cast<std::uint64_t>(latest)));
}

Status BatchRecorder::Impl::CatchUp() {
  std::lock_guard lock(record_mu);
  auto first = FirstToRecord();
  if (!first.ok()) return std::move(first).error();
  if (!first->has_value()) return Ok();
  std::uint64_t n = **first;
  for (std::uint64_t handled = 0; handled < kMaxPerRound; ++handled, ++n) {
    auto b = ClosedBatch(n);
    if (!b.ok()) return std::move(b).error();
    if (!b->has_value()) break;
    auto skip = OnlyHousekeeping(**b);
    if (!skip.ok()) return std::move(skip).error();
    if (!*skip) KRAY_TRY(Record(**b));
    checked = n;
  }
  return Ok();
}

void BatchRecorder::Impl::Run() {
  pthread_setname_np(pthread_self(), "kray-validators");
  for (;;) {
    Status s = CatchUp();
    if (!s.ok()) spdlog::warn("validators: recording batches: {} ({}); retrying", s.error().message, s.error().code);
    std::unique_lock lock(mu);
    cv.wait_for(lock, kPollInterval, [&] { return stopping || wake; });
    if (stopping) return;
    wake = false;
  }
}

BatchRecorder::BatchRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<BatchRecorder> BatchRecorder::Start(state::Ledger& ledger, rollup::Rollup& rollup,
                                                    std::function<void()> between_reads) {
  auto impl = std::make_unique<Impl>(ledger, rollup);
  Impl* m = impl.get();
  m->between_reads = std::move(between_reads);
  m->listener = rollup.AddBatchListener([m](const rollup::BatchHeader&) {
    {
      std::lock_guard lock(m->mu);
      m->wake = true;
    }
    m->cv.notify_one();
  });
  m->thread = std::thread([m] { m->Run(); });
  return std::unique_ptr<BatchRecorder>(new BatchRecorder(std::move(impl)));
}

BatchRecorder::~BatchRecorder() {
  Stop();
}

void BatchRecorder::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->rollup.RemoveBatchListener(impl_->listener);
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Status BatchRecorder::CatchUp() {
  return impl_->CatchUp();
}

}  // namespace kray::validators
