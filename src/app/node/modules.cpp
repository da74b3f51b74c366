#include "modules.h"

#include <cstdlib>
#include <memory>

#include "kray/bridge/deposits.h"
#include "kray/defi/defi.h"
#include "kray/market/market.h"
#include "kray/rewards/rewards.h"
#include "kray/validators/reads.h"
#include "kray/validators/validators.h"

namespace kray::app {
namespace {

// The one fact the bridge needs from the validators module (a signed
// withdrawal challenge is accepted only from an active validator), read
// from replayed state through the unit's connection.
class ActiveValidators : public bridge::ValidatorFacts {
 public:
  Result<bool> IsActiveValidator(store::Database& db, std::string_view account_id) const override {
    auto config = validators::LoadConfig(db);
    if (!config.ok()) return std::move(config).error();
    auto v = validators::FindValidatorOfAccount(db, account_id);
    if (!v.ok()) return std::move(v).error();
    return v->has_value() && (*v)->Active(*config);
  }
};

}  // namespace

const bridge::ValidatorFacts& ActiveValidatorFacts() {
  static const ActiveValidators facts;
  return facts;
}

const state::ModuleRegistry& NodeModules() {
  static const std::unique_ptr<state::Module> bridge_module = bridge::MakeBridgeModule(ActiveValidatorFacts());
  static const state::ModuleRegistry registry = [] {
    state::ModuleRegistry r;  // holds the core ledger; modules are added below, in dependency order
    // A clash of names or leaf types is a build error, not a runtime one.
    const state::Module* bridge = bridge_module.get();
    for (const state::Module* m : std::initializer_list<const state::Module*>{
             &defi::DefiModule(), &market::MarketModule(), bridge, &validators::ValidatorsModule(),
             &rewards::RewardsModule()})
      if (!r.Add(*m).ok()) std::abort();
    return r;
  }();
  return registry;
}

}  // namespace kray::app
