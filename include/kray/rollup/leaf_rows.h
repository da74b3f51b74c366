// The leaves' preimages in the rollup index (schema/rollup/005): what the
// tree's subtrees below kRollupDerivedDepth are derived from (node_store.h),
// what a proof returns with its path, and what `krayd verify` names when a
// root differs.
//
//  - rollup_leaf_versions: one row per key and version (batch) that wrote
//    it, keyed (version, key), so that the rows of the open batch land
//    together at the table's end. Keyed (key, version), as before schema
//    005, every batch's rows went next to each key's older ones, all over a
//    table that grows with every batch: at 100k accounts the pages a batch
//    touched soon outgrew the page cache and the index's CPU per transfer
//    kept growing with the transfers stored (docs/BENCHMARKS.md, thirty-fifth
//    round).
//  - rollup_leaf_head: each key's newest version, keyed by key (as many
//    rows as leaves). Only the version (schema/rollup/006): holding the
//    newest row's data and `prev` as well (~170 bytes a row against ~45)
//    made it ~4x the pages, which at a million accounts outgrew the page
//    cache (docs/BENCHMARKS.md, thirty-seventh round). Folded every
//    kFoldHeadsEvery batches (schema/rollup/008, LeafHeads below): a batch
//    at a million accounts writes keys spread over nearly all of the
//    table's ~10,500 pages, so writing the heads at every batch rewrote the
//    whole table every second under load (docs/BENCHMARKS.md, thirty-eighth
//    round). The table holds each key's newest version among the rows at
//    versions <= rollup_state.heads_through; a key's rows above that are
//    found by version, newest first (at most kFoldHeadsEvery + 1 versions).
//
// Each row names the key's version before it (`prev`; NULL: none), so a
// read at a past version walks back from the head one row per newer
// version of that key. Data NULL: no leaf (deleted) at that version.
//
// Not thread-safe (one Database). Writer: the index thread, inside its
// transaction. Readers read inside one read transaction (the fold position,
// the heads and the rows must be one snapshot).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/rollup/smt.h"

namespace kray::store {
class Database;
}

namespace kray::rollup {

// Batches between two folds of the heads, at most: readers look a key up in
// at most this many versions (+1, the open one) before its head; the index
// thread holds the keys written since the last fold in memory (under load
// at a million accounts ~10,000 keys a batch). The index folds sooner once
// that many keys wait (RollupOptions::fold_heads_at_keys).
inline constexpr std::int64_t kFoldHeadsEvery = 8;

// The index thread's heads: the fold position and, for each key written
// above it, its newest version (what rollup_leaf_head does not hold yet).
class LeafHeads {
 public:
  // Reads rollup_state.heads_through (-1 while the index has no state row)
  // and the keys of the rows above it.
  static Result<LeafHeads> Load(store::Database& db);

  // Writes the key's preimage at `version`, which must not be older than
  // the key's newest row (rewriting that version keeps its `prev`). Above
  // the fold position the head is noted here, at or below it written.
  Status Write(store::Database& db, const Hash256& key, std::int64_t version, const std::optional<Bytes>& data);
  // In the caller's transaction: writes the heads noted here into
  // rollup_leaf_head and sets the fold position to `through`, which no
  // version written may exceed. Call Folded(through) once it is committed.
  Status Fold(store::Database& db, std::int64_t through) const;
  void Folded(std::int64_t through);

  std::int64_t through() const { return through_; }
  std::size_t unfolded_keys() const { return newest_.size(); }
  // How many keys have a row at `version` (written here or, for the open
  // batch's version, loaded): what the open batch has changed so far.
  // Counted for the newest version written only; 0 for any other.
  std::size_t KeysAt(std::int64_t version) const { return version == counted_version_ ? counted_keys_ : 0; }

 private:
  // The heads at or below the fold position (what rollup_leaf_head holds),
  // in memory: a key first written since the last fold finds its head here
  // rather than by a B-tree search of rollup_leaf_head, whose pages at a
  // million accounts are no longer in the CPU's caches (a tenth of the index
  // thread's time, docs/BENCHMARKS.md, forty-first round). Keys in order,
  // indexed by their first two bytes; 40 bytes a key.
  class HeadIndex {
   public:
    std::optional<std::int64_t> Find(const Hash256& key) const;
    // `key` in order after every key appended so far (a load).
    void Append(const Hash256& key, std::int64_t version);
    // Each key's version set (added or replaced), after the keys Set() left
    // unindexed; then re-indexed.
    void Merge(const std::map<Hash256, std::int64_t>& heads);
    // One key's version set; merged into the index after a few (writes at
    // the fold position are rare, bar the genesis version's).
    void Set(const Hash256& key, std::int64_t version);
    void Reindex();

   private:
    // The key's position in keys_, if it is there.
    std::optional<std::size_t> PositionOf(const Hash256& key) const;
    void MergeSorted(const std::map<Hash256, std::int64_t>& heads);
    std::vector<Hash256> keys_;  // ascending
    std::vector<std::int64_t> versions_;
    // first_[p]: the position of the first key whose first two bytes are >= p.
    std::vector<std::uint32_t> first_ = std::vector<std::uint32_t>(65537, 0);
    std::map<Hash256, std::int64_t> unindexed_;  // Set() since the last Merge()
  };

  // Counts a key's first row at `version` (KeysAt).
  void CountNewRow(std::int64_t version);

  std::int64_t through_ = -1;
  std::int64_t counted_version_ = -1;
  std::size_t counted_keys_ = 0;
  std::map<Hash256, std::int64_t> newest_;  // keys with rows above through_: their newest version
  HeadIndex folded_;                        // keys with rows at or below through_: their newest version there
};

// The key's preimage as of `version` (its newest row <= version); nullopt
// when it has none then.
Result<std::optional<Bytes>> ReadLeafAt(store::Database& db, const Hash256& key, std::int64_t version);

// Every key in [low, below) with a leaf as of `version`, with its preimage,
// in key order.
Result<std::vector<std::pair<Hash256, Bytes>>> ReadLeavesIn(store::Database& db, ByteSpan low, ByteSpan below,
                                                            std::int64_t version);

}  // namespace kray::rollup
