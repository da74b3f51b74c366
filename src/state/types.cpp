#include "kray/state/types.h"

namespace kray::state {

Balance Account::BalanceOf(const std::string& asset) const {
  for (const auto& b : balances)
    if (b.asset == asset) return b;
  Balance z;
  z.asset = asset;
  return z;
}

}  // namespace kray::state
