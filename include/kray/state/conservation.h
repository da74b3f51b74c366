// Conservation of value (docs/STATE.md, "Conservation"): for every asset,
//   Σ balances (available + staked + locked) + fee_pool + burned
//     + Σ module terms (pools, escrows, stakes, …)  ==  genesis_total + minted
// The live check (Ledger::CheckConservation), the offline check (`krayd
// checkconservation`) and replay all use this one function with the same
// module registry, so every module's audit is counted everywhere.
#pragma once

#include "kray/core/result.h"
#include "kray/state/module.h"
#include "kray/state/types.h"

namespace kray::store {
class Database;
}

namespace kray::state {

// Sums in 128 bits (a broken store cannot overflow the check). Call inside
// a read transaction so every sum sees one snapshot.
Result<ConservationReport> CheckConservation(store::Database& db, const ModuleRegistry& registry);

}  // namespace kray::state
