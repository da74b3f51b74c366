// Internal to src/defi: the module's tables (schema/defi), the price oracle
// update and the leaf encodings. Callers pass the connection: OpContext::Sql()
// inside an operation (its savepoint), a read connection for reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kray/core/bytes.h"
#include "kray/core/result.h"
#include "kray/defi/defi.h"
#include "kray/store/database.h"

namespace kray::defi {

inline constexpr std::string_view kProtocolFeeKey = "protocol_fee_account";

// The pool, or nullopt.
Result<std::optional<Pool>> LoadPool(store::Database& db, std::string_view pool_id);
Status InsertPool(store::Database& db, const Pool& pool);
Status UpdatePool(store::Database& db, const Pool& pool);

// UniswapV2Pair._update's accumulators: on the first operation of a second
// (now > timestamp_last) adds the prices of the reserves that held since the
// last operation, times the seconds elapsed, and moves timestamp_last to
// now. Call with the reserves as they were before the operation changes them.
// Returns true if it advanced (an observation is due: RecordObservation).
bool AccruePrices(Pool& pool, std::int64_t now);
Status RecordObservation(store::Database& db, const Pool& pool);
// Amounts of a and b that changed hands in one swap (one hop of a route).
Status RecordSwap(store::Database& db, std::string_view pool_id, std::int64_t now, Amount amount_a, Amount amount_b);

Result<std::string> ConfigValue(store::Database& db, std::string_view key);  // "" if unset
Status SetConfigValue(store::Database& db, std::string_view key, std::string_view value);

// Leaf data (docs/ROLLUP.md "Leaves"), nullopt when absent.
Result<std::optional<Bytes>> EncodePoolLeaf(store::Database& db, std::string_view pool_id);
Result<std::optional<Bytes>> EncodeProtocolFeeLeaf(store::Database& db, std::string_view id);

// Cumulative prices at time t >= the pool's creation, from the observations
// and the current state (UniswapV2OracleLibrary.currentCumulativePrices for
// t after the last update). Conflict "insufficient_history" before creation.
struct Cumulatives {
  U256 a, b;
};
Result<Cumulatives> CumulativesAt(store::Database& db, const Pool& pool, std::int64_t t);

}  // namespace kray::defi
