// Source-agnostic replay engine shared by `krayd verify` (reads a datadir)
// and `kray-cli verifychain` (downloads over the API): re-executes batches
// with the state module's executor into a private temporary store and checks
// each batch's tx root, state root and conservation.
// Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kray/core/params.h"
#include "kray/rollup/batch.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

class ChainReplayer {
 public:
  // temp_dir: where the replay store lives ("" = system temp); removed on destruction.
  static Result<std::unique_ptr<ChainReplayer>> Create(const ChainParams& params, const std::string& temp_dir);
  ~ChainReplayer();

  // Loads the genesis snapshot (leaf preimages) and checks its root.
  // Error "verify_genesis_mismatch".
  Status Genesis(const std::vector<Bytes>& leaves, const std::string& genesis_root_hex, std::int64_t base_seq);

  // Replays the next batch: checks numbering/ranges/prev root, re-verifies
  // and re-applies every tx (and account event) in order, recomputes the tx
  // root, the state root and conservation. On divergence returns an error
  // (codes in verify.h) naming the batch and tx; the replay state is then
  // left at the end of the previous batch.
  Status Batch(const BatchHeader& header, const std::vector<state::TxRecord>& txs,
               const std::vector<AccountEvent>& events);

  // Canonical leaf data of an account in the replayed state ("" if absent).
  Bytes AccountLeaf(const std::string& account_id);
  // Accounts changed by the last Batch() call (tx parties and events).
  const std::vector<std::string>& last_touched() const { return touched_; }
  const std::string& root() const { return prev_root_; }
  std::int64_t last_seq() const { return prev_last_; }
  std::int64_t batches() const { return batches_; }

 private:
  ChainReplayer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string prev_root_;
  std::int64_t prev_last_ = 0, batches_ = 0;
  std::vector<std::string> touched_;
};

}  // namespace kray::rollup
