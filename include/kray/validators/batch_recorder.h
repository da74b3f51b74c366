// The node side of batch rewards (docs/VALIDATORS.md, "Recording batches"):
// follows the rollup index's closed batches and, for each one after the last
// recorded, submits the system operation validator_batch naming the batch
// (number, seq range, gas share; its roots as evidence), which records it and
// distributes the validators' half of the gas. A batch holding only the
// validators' own bookkeeping (IsHousekeeping) is not recorded: its gas
// (none) is covered by the next recorded one. Until a validator registers
// nothing is recorded (a chain without validators sees no operation of the
// recorder); the first record is of the latest closed batch then.
//
// It works from the stores alone, never from memory: on start, when a batch
// closes (a rollup batch listener wakes it) and every few seconds it records
// every batch the index has closed after the last one the state records.
// validator_batch is idempotent per batch (a repeat changes nothing), so a
// stop between a batch close and its recording, a restart, or two recorders
// neither skips nor pays twice.
//
// Thread-safety: Start/Stop from one thread; the recorder runs its own
// thread ("kray-validators").
#pragma once

#include <functional>
#include <memory>

#include "kray/core/result.h"

namespace kray::state {
class Ledger;
}
namespace kray::rollup {
class Rollup;
}

namespace kray::validators {

class BatchRecorder {
 public:
  // Adds a batch listener to `rollup` and starts the thread, which first
  // catches up. Both must outlive the recorder; stop it (or destroy it)
  // before the Ledger is destroyed (krayd's main does). `between_reads` is
  // for tests: each catch-up calls it (on its thread) between reading the
  // latest closed batch and asking whether any validator exists, the window
  // in which a batch can close unseen.
  static std::unique_ptr<BatchRecorder> Start(state::Ledger& ledger, rollup::Rollup& rollup,
                                              std::function<void()> between_reads = {});
  ~BatchRecorder();  // Stop()
  BatchRecorder(const BatchRecorder&) = delete;
  BatchRecorder& operator=(const BatchRecorder&) = delete;

  // Removes the listener and joins the thread (a submission in flight is
  // finished first). Idempotent.
  void Stop();

  // Records, on the caller's thread, every batch closed so far that is not
  // recorded yet (tests, tools). Returns the first submission error.
  Status CatchUp();

  struct Impl;

 private:
  explicit BatchRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::validators
