#include "kray/state/types.h"

#include <sstream>

namespace kray::state {

Balance Account::BalanceOf(const std::string& asset) const {
  for (const auto& b : balances)
    if (b.asset == asset) return b;
  Balance z;
  z.asset = asset;
  return z;
}

std::string_view SigSchemeName(SigScheme s) {
  return s == SigScheme::kV1 ? "v1" : "legacy";
}

std::string ConservationReport::ToString() const {
  std::ostringstream os;
  os << "conservation: " << (ok ? "OK" : "VIOLATED") << "\n";
  for (const auto& l : lines) {
    os << "  " << l.asset << ": balances=" << l.balances << " fee_pool=" << l.fee_pool << " burned=" << l.burned;
    for (const auto& [name, v] : l.extra) os << " " << name << "=" << v;
    os << " | genesis=" << l.genesis << " minted=" << l.minted << " -> " << (l.ok ? "OK" : "VIOLATED") << "\n";
  }
  return os.str();
}

}  // namespace kray::state
