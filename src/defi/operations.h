// Internal to src/defi: the module's operation types (defi.h lists them).
#pragma once

#include <vector>

#include "kray/state/module.h"

namespace kray::defi {

// pool_create, liquidity_add, liquidity_remove, swap, swap_route (static
// instances, alive for the program).
std::vector<const state::OperationType*> DefiOperations();

}  // namespace kray::defi
