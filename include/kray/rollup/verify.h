// `krayd verify`: re-executes a datadir's whole operation log with the state
// module's executor (the code the sequencer runs) into a fresh temporary
// store and checks every batch of the rollup index (docs/ROLLUP.md, "Verify").
//
// Checked, in order: the genesis file recorded in the store reproduces the
// index's genesis root; per batch: numbering and seq ranges contiguous,
// prev_state_root = the previous root, every operation re-validated and
// re-authorised from its record and re-executed (replay.h), the tx root, the
// state root, conservation; then the operations after the last batch; and
// finally the replayed head against the live store: every leaf of every
// registered type must be identical, so a row edited behind the node's back
// is found even when no batch root covers it yet; and the live store's
// conservation sums against the replayed store's (rows no leaf covers).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kray/core/params.h"
#include "kray/core/result.h"
#include "kray/state/module.h"

namespace kray::rollup {

struct VerifyOptions {
  ChainParams params;
  std::string temp_dir;               // default: the system temp directory
  std::int64_t progress_every = 100;  // batches between progress lines
};

struct VerifySummary {
  std::int64_t batches = 0, operations = 0;
  std::int64_t unbatched = 0;  // operations after the last closed batch (replayed, no root yet)
  std::int64_t leaves_compared = 0;
  std::string final_root;
};

using VerifyProgress = std::function<void(const std::string& line)>;

// Returns the summary, or an error whose code is one of
//   verify_genesis_mismatch, verify_batch_gap, verify_prev_root_mismatch,
//   verify_tx_failed, verify_tx_root_mismatch, verify_state_root_mismatch,
//   verify_conservation_failed (also: the store's sums at the head differ
//   from the replayed ones), verify_head_mismatch, verify_untracked_state
//   (the replayed tree root is not the root of the replayed leaves: an
//   operation changed state without touching its leaf) (message: "batch N
//   operation i (seq S, hash H): ...", for a state root mismatch also the
//   first differing leaf and the first operation of the batch touching it),
//   or store errors.
// Opens both stores read-only inside read transactions: safe next to a live node.
Result<VerifySummary> VerifyDatadir(const std::string& datadir, const VerifyOptions& options,
                                    const state::ModuleRegistry& registry, const VerifyProgress& progress);

}  // namespace kray::rollup
