// The one place that lists the modules a krayd node runs. krayd, kray-cli
// (verifychain replays every operation type) and the offline commands
// (checkconservation, verify) all use this registry, so a module's
// operations, leaves and conservation terms are known everywhere.
#pragma once

#include "kray/state/module.h"

namespace kray::app {

// The registry of every module compiled into this binary (core ledger
// included). Built on first use; read-only and thread-safe afterwards.
const state::ModuleRegistry& NodeModules();

}  // namespace kray::app
