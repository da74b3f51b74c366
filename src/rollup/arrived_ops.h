// Private to src/rollup: the open batch's operations as their groups
// arrived, so that the batch's close need not read them back from the state
// store (reading and decoding 10,000 operations was two thirds of a close's
// time: docs/BENCHMARKS.md, sixteenth round).
//
// Holds, for a contiguous run of seqs, each operation's record hash (what
// the tx root commits to) and gas fee (what the batch header sums). A seq
// that does not continue the run (operations the index applied without
// their groups, by the catch-up after a restart) starts a new run after the
// gap; the close then finds its range not covered and reads the store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/state/operation.h"

namespace kray::rollup {

struct ArrivedOperation {
  Hash256 record_hash;
  Amount gas_fee = 0;
};

class ArrivedOperations {
 public:
  // Adds `ops` (one group, in seq order) to the run.
  void Note(const std::vector<std::shared_ptr<const state::Operation>>& ops) {
    for (const auto& shared : ops) {
      const state::Operation& op = *shared;
      const auto seq = static_cast<std::int64_t>(op.seq);
      if (seq != next()) {  // a gap: a new run starts here
        entries_.clear();
        from_ = seq;
      }
      entries_.push_back(ArrivedOperation{state::OperationRecordHash(op), op.gas_fee});
    }
  }

  // Operations first_seq..last_seq, in order, if the run is exactly them;
  // the run is then empty. nullopt (the run kept) otherwise.
  std::optional<std::vector<ArrivedOperation>> Take(std::int64_t first_seq, std::int64_t last_seq) {
    if (from_ != first_seq || next() != last_seq + 1) return std::nullopt;
    from_ = last_seq + 1;
    return std::exchange(entries_, {});
  }

  // Forgets the run; the next one is expected to start at `seq`.
  void StartAt(std::int64_t seq) {
    entries_.clear();
    from_ = seq;
  }

 private:
  std::int64_t next() const { return from_ + static_cast<std::int64_t>(entries_.size()); }

  std::vector<ArrivedOperation> entries_;
  std::int64_t from_ = 0;
};

}  // namespace kray::rollup
