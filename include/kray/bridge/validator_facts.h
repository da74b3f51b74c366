// The one fact the bridge needs from the validators module: whether an
// account is an active validator (a signed withdrawal challenge is accepted
// only from one). A narrow interface, so the bridge does not depend on the
// validators module: the node wires the validators module's implementation
// in src/app/node/modules.cpp (app::ActiveValidatorFacts, given to
// MakeBridgeModule in NodeModules()); BridgeModule() keeps NoValidators(),
// which answers false for everyone (only the operator can challenge).
//
// The answer must come from replayed state read through `db` (the unit's
// connection inside Apply), so replay decides exactly as the sequencer did.
#pragma once

#include <string_view>

#include "kray/core/result.h"

namespace kray::store {
class Database;
}

namespace kray::bridge {

class ValidatorFacts {
 public:
  virtual ~ValidatorFacts() = default;
  // True if `account_id` is an active validator in the state read through `db`.
  virtual Result<bool> IsActiveValidator(store::Database& db, std::string_view account_id) const = 0;
};

// No account is an active validator (a registry without the validators module).
const ValidatorFacts& NoValidators();

}  // namespace kray::bridge
