// Private to src/bridge: the parts the bridge module (module.cpp) is made
// of — the deposit operations and leaves (deposits_module.cpp) and the
// withdrawal and spend operations, leaves, audit and genesis
// (withdrawals_module.cpp).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "kray/bridge/validator_facts.h"
#include "kray/state/module.h"

namespace kray::bridge::internal {

// Static instances; valid for the program's lifetime.
std::vector<const state::OperationType*> DepositOperations();
std::vector<state::LeafType> DepositLeafTypes();

// The withdrawal operations; the validator challenge asks `validators`,
// which must outlive the returned object.
class WithdrawalOperations {
 public:
  virtual ~WithdrawalOperations() = default;
  virtual std::vector<const state::OperationType*> list() const = 0;
};
std::unique_ptr<WithdrawalOperations> MakeWithdrawalOperations(const ValidatorFacts& validators);
std::vector<state::LeafType> WithdrawalLeafTypes();
Result<std::vector<state::ConservationTerm>> WithdrawalAudit(store::Database& db);
// Withdrawals and spends agree (withdrawals_store.cpp): Module::CheckInvariants.
Status CheckWithdrawalInvariants(store::Database& db);
// The genesis section "bridge" (docs/BRIDGE.md, "Genesis").
Status ApplyBridgeGenesis(state::OpContext& ctx, std::string_view section_json);

}  // namespace kray::bridge::internal
