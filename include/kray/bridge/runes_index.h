// The bridge's own runes index: it follows Bitcoin block by block and keeps,
// for a configured set of rune ids, the balance every unspent outpoint
// carries, exactly as ord's index would (ord src/index/updater/rune_updater.rs,
// RuneUpdater::index_runes; runestones decoded by bitcoin::DecipherRunestone,
// a port of ord's Runestone::decipher). Rune deposits are credited only from
// what this index says.
//
// Why tracking only the configured runes is exact: in ord every rule that
// moves a rune (mint, premine, edicts incl. 0:0 and splits, pointer, the
// default output, cenotaph burns, OP_RETURN burns) reads and writes that
// rune's own unallocated balance only; nothing about one rune's balances
// depends on another rune's. So the index needs (1) the outpoints that carry a
// tracked rune, to know what a spending transaction's inputs bring, (2) the
// tracked runes' entries (terms and mint count, for mints), and (3) the
// etching transaction at each tracked id. Every other outpoint carries nothing
// it needs. Indexing starts at the lowest tracked id's block: no tracked rune
// exists before its etching.
//
// What is checked at an etching (ord's RuneUpdater::etched): the transaction
// at block:tx of a tracked id must etch; a given name must not be reserved,
// must be at least MinimumRuneAtHeight, and the transaction must commit to it
// (a tapscript push of RuneCommitment in an input spending a P2TR output
// confirmed at least 6 blocks earlier, looked up through PrevoutSource); with
// no name the rune gets ReservedRune(block, tx). One rule is NOT checked:
// ord refuses a name that an earlier etching already took, and knowing that
// needs every etching since activation. The configured id is the operator's
// statement of which rune ord shows at that id; TrackedRune::rune lets the
// index check the name it finds against that statement.
//
// Reorgs: ConnectBlock keeps an undo record per block for the last
// max_reorg_depth blocks; DisconnectTip takes the tip back. Deeper reorgs are
// an error ("runes_reorg_too_deep"): the index must be rebuilt.
//
// Thread-safety: not thread-safe; one thread drives an index and its store.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "kray/bitcoin/block.h"
#include "kray/bitcoin/runestone.h"
#include "kray/bridge/runes_store.h"
#include "kray/core/amount.h"
#include "kray/core/params.h"
#include "kray/core/result.h"

namespace kray::bridge {

// ord's Runestone::COMMIT_CONFIRMATIONS.
inline constexpr std::uint32_t kRuneCommitConfirmations = 6;

struct TrackedRune {
  RuneId id;
  // The name ord shows for this id; when set, an etching with another name
  // (or none at all) is the error "runes_etching_mismatch".
  std::optional<bitcoin::Rune> rune;
};

struct RunesIndexOptions {
  Network network = Network::kRegtest;
  std::vector<TrackedRune> runes;
  std::uint32_t max_reorg_depth = 100;
};

// Where the index looks up the output an etching's input spends, to check the
// name commitment. Only consulted for a named etching at a tracked id, for
// inputs whose tapscript pushes the commitment.
class PrevoutSource {
 public:
  struct Prevout {
    Bytes script_pubkey;
    std::uint32_t height = 0;  // height of the block that confirmed it
  };
  virtual ~PrevoutSource() = default;
  // The spent output and its confirmation height; an error if unknown (the
  // index stops: ord cannot decide the etching without it either).
  virtual Result<Prevout> Lookup(const OutPoint& outpoint) = 0;
};

class RunesIndex {
 public:
  // `store` and `prevouts` must outlive the index; `prevouts` may be null if
  // no tracked rune has a name (then a named etching fails with
  // "runes_no_prevout_source"). Errors (kInvalidInput):
  // "runes_no_tracked_runes", "runes_bad_tracked_id" (block 0 or above
  // 2^32-1), "runes_bad_reorg_depth" (0).
  static Result<RunesIndex> Make(RunesStore& store, RunesIndexOptions options, PrevoutSource* prevouts);

  const RunesIndexOptions& options() const { return options_; }
  // Height of the first block the index needs (the lowest tracked id's).
  std::uint32_t start_height() const { return start_height_; }
  bool IsTracked(const RuneId& id) const { return tracked_.count(id) != 0; }

  // The last indexed block (nullopt before the first).
  Result<std::optional<IndexedBlock>> Tip() const;
  // Height of the next block to connect.
  Result<std::uint32_t> NextHeight() const;

  // Applies the block at `height`, which must be NextHeight() and extend the
  // tip (header.prev_block == tip hash). The caller is responsible for the
  // block being the one Bitcoin has at that height (BitcoinRpc::GetBlock
  // checks hash and commitments). All of the block or nothing is written.
  // Errors: "runes_not_next_block" (kConflict: wrong height, or the block
  // does not extend the tip), "runes_etching_mismatch" (kInvalidInput),
  // "runes_no_prevout_source", PrevoutSource and store errors; kInternal
  // (the index cannot go on): "runes_commit_height" (a commitment confirmed
  // above this block: the L1 view is inconsistent), "runes_bad_block" (an
  // input spends a missing output of an earlier tx of the same block),
  // "runes_overflow" (a u128 sum overflowed: impossible for valid runes,
  // whose supply fits u128).
  Status ConnectBlock(std::uint32_t height, const bitcoin::Block& block);

  // Takes back the tip block. Errors: "runes_nothing_to_undo" (kConflict),
  // "runes_reorg_too_deep" (kInternal: its undo record is gone), store errors.
  Status DisconnectTip();

  // The tracked runes `outpoint` carries while unspent (empty if none or spent).
  Result<RuneBalances> Balances(const OutPoint& outpoint) const;
  // A tracked rune's entry; nullopt until (or unless) it is etched.
  Result<std::optional<RuneEntry>> Entry(const RuneId& id) const;
  // Unspent outpoints holding `id`.
  Result<std::vector<std::pair<OutPoint, u128>>> Holders(const RuneId& id) const;

  // For every etched tracked rune: sum of all holders + burned ==
  // premine + mints * terms.amount (Fedimint-style audit of what the index
  // holds). Error "runes_supply_mismatch" (kInternal). Reads every holder:
  // for tests and operator checks, not for every block.
  Status CheckSupply() const;

 private:
  RunesIndex(RunesStore& store, RunesIndexOptions options, PrevoutSource* prevouts);

  RunesStore* store_;
  RunesIndexOptions options_;
  PrevoutSource* prevouts_;
  std::set<RuneId> tracked_;
  std::uint32_t start_height_ = 0;
};

// ord's RuneEntry::mintable: the amount one mint gives at `height`, or nullopt
// if the rune has no terms, the height is outside [start, end) (absolute
// height and etching-block offset windows, the later start and the earlier end
// winning), or the cap is reached (no cap means no mints).
std::optional<u128> Mintable(const RuneEntry& entry, std::uint64_t height);

// Converts a rune amount for crediting on L2, whose amounts are u64 limited to
// kMaxAmount (2^63-1, SQLite's INTEGER). Error "rune_amount_too_large" —
// such an amount is never credited (not even partly).
Result<Amount> CreditableRuneAmount(u128 amount);

}  // namespace kray::bridge
