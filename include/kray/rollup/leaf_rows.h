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
//  - rollup_leaf_head: each key's newest version, updated in place (as many
//    rows as leaves), keyed by key. Only the version (schema/rollup/006):
//    holding the newest row's data and `prev` as well (~170 bytes a row
//    against ~45) made it ~4x the pages, which at a million accounts
//    outgrew the page cache, so that writing a leaf read its head from the
//    file and dirtied a page of its own for each (docs/BENCHMARKS.md,
//    thirty-seventh round). A key rewritten within its head's version
//    leaves the head as it is.
//
// Each row names the key's version before it (`prev`; NULL: none), so a
// read at a past version walks back from the head one row per newer
// version of that key. Data NULL: no leaf (deleted) at that version.
//
// Not thread-safe (one Database). Writers: the index thread, inside its
// transaction.
#pragma once

#include <cstdint>
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

struct LeafRow {
  std::int64_t version = 0;
  std::optional<Bytes> data;  // nullopt: no leaf
  std::optional<std::int64_t> prev;
};

// Writes the key's preimage at `version`, which must not be older than the
// key's newest row (rewriting that version keeps its `prev`).
Status WriteLeafRow(store::Database& db, const Hash256& key, std::int64_t version, const std::optional<Bytes>& data);

// The key's preimage as of `version` (its newest row <= version); nullopt
// when it has none then.
Result<std::optional<Bytes>> ReadLeafAt(store::Database& db, const Hash256& key, std::int64_t version);

// Every key in [low, below) with the version of its newest row, in key order.
Result<std::vector<std::pair<Hash256, std::int64_t>>> ReadHeadsIn(store::Database& db, ByteSpan low, ByteSpan below);

// ReadLeafAt from the version of the key's newest row, already read
// (ReadHeadsIn).
Result<std::optional<Bytes>> LeafAtVersion(store::Database& db, const Hash256& key, std::int64_t newest,
                                           std::int64_t version);

}  // namespace kray::rollup
