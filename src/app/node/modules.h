// The one place that lists the modules a krayd node runs. krayd, kray-cli
// (verifychain replays every operation type) and the offline commands
// (checkconservation, verify) all use this registry, so a module's
// operations, leaves and conservation terms are known everywhere.
#pragma once

#include "kray/bridge/validator_facts.h"
#include "kray/state/module.h"

namespace kray::app {

// The registry of every module compiled into this binary (core ledger
// included). Built on first use; read-only and thread-safe afterwards.
const state::ModuleRegistry& NodeModules();

// Whether an account is an active validator (the validators module's state),
// as the bridge's withdrawal_validator_challenge asks it in NodeModules().
const bridge::ValidatorFacts& ActiveValidatorFacts();

}  // namespace kray::app
