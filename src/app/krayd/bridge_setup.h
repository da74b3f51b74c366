// krayd's bridge wiring: config keys -> the federation, the member key and
// the deposit scanner (docs/BRIDGE.md). Kept out of main.cpp so the node's
// lifecycle stays readable.
#pragma once

#include <memory>

#include "kray/api/config.h"
#include "kray/bridge/scanner.h"
#include "kray/bridge/spends.h"
#include "kray/core/result.h"
#include "kray/rollup/rollup.h"
#include "kray/state/ledger.h"

namespace kray::app {

// True when an L1 backend is configured (bitcoinrpcurl).
bool BridgeConfigured(const api::Config& cfg);

// The bridge's threads: the deposit scanner and the spend coordinator
// (withdrawals, anchors), which is woken by every closed rollup batch.
struct BridgeNode {
  BridgeNode() = default;
  BridgeNode(BridgeNode&& other) noexcept;
  BridgeNode& operator=(BridgeNode&& other) noexcept;
  ~BridgeNode() { Stop(); }

  std::unique_ptr<bridge::DepositScanner> scanner;
  std::unique_ptr<bridge::SpendCoordinator> spends;
  int member = 0;  // 1..3 when this node holds a member key, else 0
  rollup::Rollup* rollup = nullptr;
  int batch_listener = -1;  // handle in `rollup`, -1 when none

  // Stops the coordinator, then the scanner, and removes the batch
  // listener; before the Ledger is destroyed (both submit to it).
  void Stop();
};

// Checks the bridge keys (every error names the key: missing xpubs or
// credentials, bad runes, a member key that is not one of the xpubs) and
// starts the scanner and the spend coordinator. Call after the Ledger and
// the rollup index are open; call Stop() before destroying the Ledger.
Result<BridgeNode> OpenBridge(const api::Config& cfg, state::Ledger& ledger, rollup::Rollup* rollup);

}  // namespace kray::app
