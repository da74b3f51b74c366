// Reading stored transactions on any connection that holds the state schema
// (for modules such as the rollup that must see every column, including the
// ones added later, without duplicating the column list).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kray/core/result.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// Transactions with first_seq <= seq <= last_seq, in seq order.
Result<std::vector<TxRecord>> TransactionsInSeqRange(store::Database& db, std::int64_t first_seq,
                                                     std::int64_t last_seq);

// The stored transaction with this hex hash (any case), or nullopt.
Result<std::optional<TxRecord>> TransactionByHash(store::Database& db, std::string_view tx_hash);

}  // namespace kray::state
