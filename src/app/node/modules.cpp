#include "modules.h"

namespace kray::app {

const state::ModuleRegistry& NodeModules() {
  static const state::ModuleRegistry registry = [] {
    state::ModuleRegistry r;  // holds the core ledger; modules are added below, in dependency order
    return r;
  }();
  return registry;
}

}  // namespace kray::app
