#include "modules.h"

#include <cstdlib>

#include "kray/bridge/deposits.h"
#include "kray/defi/defi.h"
#include "kray/market/market.h"
#include "kray/rewards/rewards.h"
#include "kray/validators/validators.h"

namespace kray::app {

const state::ModuleRegistry& NodeModules() {
  static const state::ModuleRegistry registry = [] {
    state::ModuleRegistry r;  // holds the core ledger; modules are added below, in dependency order
    // A clash of names or leaf types is a build error, not a runtime one.
    for (auto* make : {&defi::DefiModule, &market::MarketModule, &bridge::BridgeModule, &validators::ValidatorsModule,
                       &rewards::RewardsModule})
      if (!r.Add(make()).ok()) std::abort();
    return r;
  }();
  return registry;
}

}  // namespace kray::app
