#include "modules.h"

#include <cstdlib>

#include "kray/market/market.h"

namespace kray::app {

const state::ModuleRegistry& NodeModules() {
  static const state::ModuleRegistry registry = [] {
    state::ModuleRegistry r;  // holds the core ledger; modules are added below, in dependency order
    if (!r.Add(market::MarketModule()).ok()) std::abort();  // a duplicate name or leaf type: a build bug
    return r;
  }();
  return registry;
}

}  // namespace kray::app
