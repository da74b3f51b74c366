// krayd's bridge wiring: config keys -> the federation, the member key and
// the deposit scanner (docs/BRIDGE.md). Kept out of main.cpp so the node's
// lifecycle stays readable.
#pragma once

#include <memory>

#include "kray/api/config.h"
#include "kray/bridge/scanner.h"
#include "kray/core/result.h"
#include "kray/state/ledger.h"

namespace kray::app {

// True when an L1 backend is configured (bitcoinrpcurl).
bool BridgeConfigured(const api::Config& cfg);

struct BridgeNode {
  std::unique_ptr<bridge::DepositScanner> scanner;
  int member = 0;  // 1..3 when this node holds a member key, else 0
};

// Checks the bridge keys (every error names the key: missing xpubs or
// credentials, bad runes, a member key that is not one of the xpubs) and
// starts the scanner. Call after the Ledger is open; destroy the scanner
// before the Ledger.
Result<BridgeNode> OpenBridge(const api::Config& cfg, state::Ledger& ledger);

}  // namespace kray::app
