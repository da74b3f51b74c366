// Internal: the rewards module's operation types (ops.cpp).
#pragma once

#include "kray/state/module.h"

namespace kray::rewards::internal {

const state::OperationType& AwardOperation();
const state::OperationType& ClaimOperation();
const state::OperationType& ExpireOperation();

}  // namespace kray::rewards::internal
