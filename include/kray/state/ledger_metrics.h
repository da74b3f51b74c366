// What the Ledger measures about itself for /metrics: the sequencer's group
// commits and the signature checks of Submit(). Recorded with relaxed
// atomics (kray/core/metrics.h): no lock on the sequencer's path.
#pragma once

#include "kray/core/metrics.h"

namespace kray::state {

struct LedgerMetrics {
  // Operations per committed group (1 .. max_group).
  metrics::Histogram group_operations{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  // Seconds of a group's COMMIT (the WAL write and fsync).
  metrics::Histogram commit_seconds{metrics::ExponentialBuckets(0.0001, 2, 16)};
  // Seconds from taking a group off the queue to its commit (execute + commit).
  metrics::Histogram group_seconds{metrics::ExponentialBuckets(0.0001, 2, 16)};
  // BIP-340 verifications of signed operations in Submit(), and how many failed.
  metrics::Counter signature_verifications;
  metrics::Counter signature_failures;
  // Bound keys read into the key cache at start-up (Ledger::Open).
  metrics::Counter keys_preloaded;
  // Of the keys that preload read, those with a stored point (schema/core/
  // 004_key_points.sql), cached parsed rather than as bytes.
  metrics::Counter keys_preloaded_from_points;
  // Groups whose transaction failed (the store then refuses writes).
  metrics::Counter groups_failed;
  // Groups recorded in the input log and committed without a sync (applied
  // by a submitter while the sequencer was idle; src/state/input_log.h).
  metrics::Counter logged_groups;
  // Small groups that waited for more operations (src/state/sequencer.h),
  // and the operations those waits gathered.
  metrics::Counter group_waits;
  metrics::Counter operations_gathered;
  // Times the sequencer's account cache passed its bound (config
  // accountcache) and was emptied, to be refilled from the store.
  metrics::Counter account_cache_clears;
  // Input log records applied again at start-up: answered groups whose
  // commit the store had lost.
  metrics::Counter input_records_replayed;
};

}  // namespace kray::state
