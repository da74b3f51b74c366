#include "modules.h"

#include <cstdlib>

#include "kray/bridge/deposits.h"

namespace kray::app {

const state::ModuleRegistry& NodeModules() {
  static const state::ModuleRegistry registry = [] {
    state::ModuleRegistry r;  // holds the core ledger; modules are added below, in dependency order
    Status added = r.Add(bridge::BridgeModule());
    if (!added.ok()) std::abort();  // a clash of names or leaf types: a build error, not a runtime one
    return r;
  }();
  return registry;
}

}  // namespace kray::app
