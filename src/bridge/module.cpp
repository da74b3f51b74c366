// The bridge module (docs/BRIDGE.md): deposits (deposits.h) and withdrawals
// with the bridge's own L1 transactions (withdrawals.h), registered as one
// module of the module host.
#include <memory>

#include "kray/bridge/deposits.h"
#include "kray/bridge/validator_facts.h"
#include "kray/bridge/withdrawals.h"
#include "module_parts.h"

namespace kray::bridge {

// schema/bridge/*.sql, embedded at build time (cmake/KrayMigrations.cmake).
std::span<const store::Migration> BridgeMigrations();

namespace {

class Bridge : public state::Module {
 public:
  explicit Bridge(const ValidatorFacts& validators) : withdrawal_ops_(internal::MakeWithdrawalOperations(validators)) {}

  std::string_view name() const override { return "bridge"; }
  std::span<const store::Migration> migrations() const override { return BridgeMigrations(); }
  std::vector<const state::OperationType*> operations() const override {
    auto ops = internal::DepositOperations();
    for (const auto* op : withdrawal_ops_->list()) ops.push_back(op);
    return ops;
  }
  std::vector<state::LeafType> leaf_types() const override {
    auto leaves = internal::DepositLeafTypes();
    for (auto& leaf : internal::WithdrawalLeafTypes()) leaves.push_back(std::move(leaf));
    return leaves;
  }
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    return internal::WithdrawalAudit(db);
  }
  Status CheckInvariants(store::Database& db) const override { return internal::CheckWithdrawalInvariants(db); }
  Status ApplyGenesis(state::OpContext& ctx, std::string_view section_json) const override {
    return internal::ApplyBridgeGenesis(ctx, section_json);
  }

 private:
  std::unique_ptr<internal::WithdrawalOperations> withdrawal_ops_;
};

}  // namespace

const state::Module& BridgeModule() {
  static const Bridge module(NoValidators());
  return module;
}

std::unique_ptr<state::Module> MakeBridgeModule(const ValidatorFacts& validators) {
  return std::make_unique<Bridge>(validators);
}

}  // namespace kray::bridge
