// `krayd verify`: re-executes a datadir's whole history with the state
// module's executor (state::ApplyTransfer, the code the sequencer runs) into a
// fresh temporary store and checks every batch (docs/ROLLUP.md, "Verify").
//
// Checked per batch, in order: numbering and seq ranges are contiguous;
// prev_state_root is the previous batch's root (the genesis root for batch 1);
// every tx re-verifies (tx_hash recomputed from its content, BIP-340
// signature against the replayed account's key) and re-applies; the tx root
// recomputed from the tx hashes equals the stored one; the state root of the
// replayed state equals the stored one; conservation holds on the replayed
// state. The genesis state is the tree's version-0 leaf snapshot, whose root
// must equal the recorded genesis root.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kray/core/params.h"
#include "kray/core/result.h"

namespace kray::rollup {

struct VerifyOptions {
  ChainParams params;
  std::string store_file;             // default: <datadir>/krayd.sqlite
  std::string temp_dir;               // default: the system temp directory
  std::int64_t progress_every = 100;  // batches between progress lines
};

struct VerifySummary {
  std::int64_t batches = 0, transactions = 0, events = 0;
  std::int64_t unbatched_txs = 0;  // txs after the last closed batch (not checked against a root)
  std::string final_root;
};

using VerifyProgress = std::function<void(const std::string& line)>;

// Returns the summary, or an error whose code is one of
//   verify_genesis_mismatch, verify_batch_gap, verify_prev_root_mismatch,
//   verify_tx_failed, verify_tx_root_mismatch, verify_state_root_mismatch,
//   verify_conservation_failed (message: "batch N tx i (seq S, hash H): ...",
//   for a state root mismatch also the first differing account and the first
//   tx of the batch touching it), or store errors.
// Opens the store read-only; safe to run next to a live node (WAL).
Result<VerifySummary> VerifyDatadir(const std::string& datadir, const VerifyOptions& options,
                                    const VerifyProgress& progress);

}  // namespace kray::rollup
