#include "kray/bridge/runes_sync.h"

namespace kray::bridge {

Result<PrevoutSource::Prevout> RpcPrevoutSource::Lookup(const OutPoint& outpoint) {
  const std::string name = bitcoin::HashToDisplayHex(outpoint.txid) + ":" + std::to_string(outpoint.n);
  auto info = rpc_.GetRawTransaction(outpoint.txid);
  if (!info.ok()) return std::move(info).error();
  if (!*info || outpoint.n >= (*info)->tx.vout.size())
    return Error::NotFound("runes_prevout_unknown", "bitcoind does not know output " + name + " (-txindex?)");
  if (!(*info)->block_hash) return Error::Conflict("runes_prevout_unconfirmed", "output " + name + " is not confirmed");
  auto header = rpc_.GetBlockHeader(*(*info)->block_hash);
  if (!header.ok()) return std::move(header).error();
  if (header->confirmations < 0)
    return Error::Conflict("runes_prevout_unconfirmed", "output " + name + " is in a block off the active chain");
  return Prevout{(*info)->tx.vout[outpoint.n].script_pubkey, header->height};
}

Result<SyncReport> SyncRunesIndex(BitcoinRpc& rpc, RunesIndex& index, std::uint32_t max_blocks) {
  SyncReport report;
  auto info = rpc.GetBlockchainInfo();
  if (!info.ok()) return std::move(info).error();
  report.l1_height = info->blocks;

  // Take back blocks Core's active chain no longer has. Each step either
  // finds the tip in Core's chain or disconnects one block, and disconnecting
  // is bounded by the kept undo records.
  for (;;) {
    auto tip = index.Tip();
    if (!tip.ok()) return std::move(tip).error();
    if (!*tip) break;
    if ((*tip)->height <= info->blocks) {
      auto hash = rpc.GetBlockHash((*tip)->height);
      if (!hash.ok()) return std::move(hash).error();
      if (*hash == (*tip)->hash) break;
    }
    KRAY_TRY(index.DisconnectTip());
    ++report.disconnected;
  }

  auto next = index.NextHeight();
  if (!next.ok()) return std::move(next).error();
  for (std::uint32_t h = *next; h <= info->blocks && report.connected < max_blocks; ++h) {
    auto hash = rpc.GetBlockHash(h);
    if (!hash.ok()) {
      // The chain got shorter since getblockchaininfo: stop, reconcile next time.
      if (hash.error().kind == ErrorKind::kNotFound) break;
      return std::move(hash).error();
    }
    auto block = rpc.GetBlock(*hash);
    if (!block.ok()) return std::move(block).error();
    auto status = index.ConnectBlock(h, *block);
    if (!status.ok()) {
      // Core switched chains between our calls: the next sync takes it back.
      if (status.error().kind == ErrorKind::kConflict) break;
      return std::move(status).error();
    }
    ++report.connected;
  }
  auto tip = index.Tip();
  if (!tip.ok()) return std::move(tip).error();
  report.tip = *tip;
  return report;
}

}  // namespace kray::bridge
