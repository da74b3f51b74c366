// Pruning the rollup index's history (config rollupprune; docs/ROLLUP.md,
// "Pruning"): the SQL side, driven one short step at a time by the index
// thread (Rollup::Impl::PruneStep in rollup.cpp, each round from
// index_thread.cpp). All functions run on the index's writer connection.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::rollup {

// With pruning on, indexes rollup_smt_pages by version (once; logged) so
// that a step reads only the rows one batch wrote (rollup_leaf_versions is
// keyed so); with it off, drops that index, which would only cost writes.
Status PrepareVersionIndexes(store::Database& db, bool pruning);

// From now on no proof reads a tree older than `batch` (its own transaction).
Status SetOldestProofBatch(store::Database& db, std::int64_t batch);

// Where the deletion of the rows a batch supersedes stands: the table (pages,
// then leaf preimages) and the last key handled.
struct PruneCursor {
  static constexpr int kTables = 2;
  int table = 0;
  Bytes after;
  bool done() const { return table == kTables; }
};

// Deletes, in one transaction, the older rows of up to `chunk` (>= 1) pages
// or leaf preimages rewritten at `version`, after `cursor`, and advances the
// cursor. The tree as of `version` or any later batch is the newest row <=
// its number per page, never one of those. Idempotent.
Status DeleteSupersededChunk(store::Database& db, std::int64_t version, std::size_t chunk, PruneCursor& cursor);

}  // namespace kray::rollup
