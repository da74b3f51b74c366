// Reads of the operation log on any connection holding the state schema
// (the Ledger's readers, `krayd verify`, the rollup index).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kray/core/result.h"
#include "kray/state/operation.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// Operations with first_seq <= seq <= last_seq, in seq order, at most `limit`.
Result<std::vector<Operation>> OperationsInRange(store::Database& db, std::uint64_t first_seq, std::uint64_t last_seq,
                                                 std::size_t limit = SIZE_MAX);
// The operation with this id among those with seq > after_seq, or nullopt.
// The log has no index by id (the history index has, src/state/history_index.h):
// this reads every operation after `after_seq`, so callers bound the tail.
Result<std::optional<Operation>> OperationByIdAfter(store::Database& db, const Hash256& id, std::uint64_t after_seq);
// Seqs of the operations after `after_seq` and before `before` (0 = no bound)
// that changed `leaf`, newest first, at most `limit`. Reads every operation in
// that range (the tail of the log the history index has not reached).
Result<std::vector<std::uint64_t>> SeqsTouchingAfter(store::Database& db, const LeafId& leaf, std::uint64_t after_seq,
                                                     std::uint64_t before, std::size_t limit = SIZE_MAX);
// Operations that changed leaf `key`, newest first: seq < before (0 = no
// bound), at most `limit` (keyset paging: pass the last seq as `before`).
// Module entities only: accounts' histories are in the history index.
Result<std::vector<Operation>> OperationsTouching(store::Database& db, const Hash256& key, std::uint64_t before,
                                                  std::size_t limit);
// The latest operations of the whole log, newest first: seq < before (0 = no
// bound), at most `limit` (keyset paging: pass the last seq as `before`).
Result<std::vector<Operation>> RecentOperations(store::Database& db, std::uint64_t before, std::size_t limit);
// The highest seq in the log (0 if empty).
Result<std::uint64_t> LastSeq(store::Database& db);

}  // namespace kray::state
