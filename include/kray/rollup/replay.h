// The replay engine shared by `krayd verify` (reads a datadir) and `kray-cli
// verifychain` (downloads over the API): re-executes batches with the state
// module's own executor (state/executor.h) into a private temporary store and
// checks each batch's tx root, state root and conservation. Every operation
// is re-validated and re-authorised from its record alone, exactly as the
// sequencer did before applying it, so a record the node altered (another
// asset, another recipient, a key bound without its BIP-86 proof, a legacy
// signature stretched beyond a plain KRAY transfer) fails here.
// Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kray/core/params.h"
#include "kray/rollup/batch.h"
#include "kray/state/module.h"
#include "kray/state/operation.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

class ChainReplayer {
 public:
  // temp_dir: where the replay store lives ("" = system temp); removed on
  // destruction. `registry` must outlive the replayer.
  static Result<std::unique_ptr<ChainReplayer>> Create(const ChainParams& params, const state::ModuleRegistry& registry,
                                                       const std::string& temp_dir);
  ~ChainReplayer();

  // Applies the genesis file (its exact bytes) with the state module's code
  // and checks the tree root. Error "verify_genesis_mismatch".
  Status Genesis(std::string_view genesis_bytes, const std::string& genesis_root_hex);

  // Replays the next batch: numbering, contiguous seqs and prev root; each
  // operation validated, authorised (signature against the replayed key) and
  // executed at its recorded timestamp, reproducing its recorded id, seq and
  // gas; then the tx root over the records, the state root and
  // conservation. On divergence returns an error (codes in verify.h) naming
  // the batch and operation; the replay cannot continue past it.
  Status Batch(const BatchHeader& header, const std::vector<state::Operation>& ops);

  // Replays operations after the last closed batch (no root to compare).
  Status Tail(const std::vector<state::Operation>& ops);

  // The replayed tree follows the leaves operations touched; the root
  // rebuilt from every leaf of the replayed state must equal it. Otherwise
  // some operation changed committed state without touching its leaf (a
  // module bug live execution and replay share, which no comparison of the
  // two shows): "verify_untracked_state". Cost: one pass over every leaf.
  Status CheckTreeCoversState();

  // Leaf data in the replayed state (empty if absent).
  Bytes LeafData(const state::LeafId& leaf);
  // The replayed state store (for comparisons with a live store).
  store::Database& db();
  // Leaves changed by the last Batch()/Tail() call.
  const std::vector<state::LeafId>& last_touched() const { return touched_; }
  const std::string& root() const { return prev_root_; }
  std::int64_t last_seq() const { return prev_last_; }
  std::int64_t batches() const { return batches_; }

 private:
  ChainReplayer() = default;
  Status Replay(std::int64_t batch, const std::vector<state::Operation>& ops, std::vector<Hash256>* record_hashes);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string prev_root_;
  std::int64_t prev_last_ = 0, batches_ = 0;
  std::vector<state::LeafId> touched_;
};

}  // namespace kray::rollup
