// Drives a RunesIndex from Bitcoin Core: follows the active chain block by
// block (BitcoinRpc::GetBlock checks each block's hash and commitments) and
// takes blocks back when Bitcoin Core's chain no longer contains them.
//
// Thread-safety: not thread-safe; one thread owns the rpc client and index.
#pragma once

#include <cstdint>
#include <optional>

#include "kray/bridge/bitcoin_rpc.h"
#include "kray/bridge/runes_index.h"
#include "kray/core/result.h"

namespace kray::bridge {

// PrevoutSource over Bitcoin Core: getrawtransaction (needs -txindex for
// transactions that are not the node's wallet's) and getblockheader for the
// confirming block's height. Errors: "runes_prevout_unknown" (Core does not
// know the transaction or it has no such output), "runes_prevout_unconfirmed"
// (not in a block of the active chain), and BitcoinRpc's errors.
class RpcPrevoutSource final : public PrevoutSource {
 public:
  explicit RpcPrevoutSource(BitcoinRpc& rpc) : rpc_(rpc) {}
  Result<Prevout> Lookup(const OutPoint& outpoint) override;

 private:
  BitcoinRpc& rpc_;
};

struct SyncReport {
  std::uint32_t connected = 0;     // blocks applied
  std::uint32_t disconnected = 0;  // blocks taken back (reorgs)
  std::optional<IndexedBlock> tip;
  std::uint32_t l1_height = 0;  // Bitcoin Core's height when the sync started
};

// Brings `index` to Bitcoin Core's tip, applying at most `max_blocks` blocks
// (call again to continue). First takes back indexed blocks that are no
// longer in Core's active chain (at most the index's max_reorg_depth), then
// connects Core's blocks in order. If Core's chain changes while syncing, the
// call stops early; the next call reconciles. Errors: BitcoinRpc's and
// RunesIndex's errors, unchanged ("runes_reorg_too_deep" if the fork point is
// deeper than the kept undo records).
Result<SyncReport> SyncRunesIndex(BitcoinRpc& rpc, RunesIndex& index, std::uint32_t max_blocks = 1000);

}  // namespace kray::bridge
