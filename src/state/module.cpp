// ModuleRegistry and the defaults of the module contract (module.h).
#include "kray/state/module.h"

#include "kray/state/core_module.h"

namespace kray::state {

Result<Hash256> OperationType::LegacyMessage(const Operation&) const {
  return Error::Invalid("legacy_signature_not_allowed",
                        "operation '" + std::string(name()) + "' must be signed with the v1 message (docs/SIGNING.md)");
}

Status OperationType::CheckLegacy(const Operation& op) const {
  auto message = LegacyMessage(op);
  if (!message.ok()) return std::move(message).error();
  return Ok();
}

Status Module::ApplyGenesis(OpContext&, std::string_view section_json) const {
  if (section_json.empty()) return Ok();
  return Error::Invalid("invalid_genesis", "module " + std::string(name()) + " takes no genesis section");
}

ModuleRegistry::ModuleRegistry() {
  Status s = Add(CoreModule());
  (void)s;  // the core module alone cannot conflict
}

Status ModuleRegistry::Add(const Module& module) {
  for (const Module* m : modules_)
    if (m->name() == module.name())
      return Error::Invalid("duplicate_module", "module '" + std::string(module.name()) + "' is registered twice");
  auto ops = module.operations();
  for (const OperationType* op : ops)
    if (FindOperation(op->name()))
      return Error::Invalid("duplicate_operation", "operation '" + std::string(op->name()) + "' of module " +
                                                       std::string(module.name()) + " is already registered");
  auto leaves = module.leaf_types();
  for (const auto& lt : leaves)
    if (FindLeafType(lt.type))
      return Error::Invalid("duplicate_leaf_type", "leaf type " + std::to_string(lt.type) + " of module " +
                                                       std::string(module.name()) + " is already registered");
  modules_.push_back(&module);
  for (const OperationType* op : ops) {
    operations_.emplace(std::string(op->name()), op);
    operation_list_.push_back(op);
  }
  leaf_types_.insert(leaf_types_.end(), leaves.begin(), leaves.end());
  return Ok();
}

const OperationType* ModuleRegistry::FindOperation(std::string_view name) const {
  auto it = operations_.find(name);
  return it == operations_.end() ? nullptr : it->second;
}

const LeafType* ModuleRegistry::FindLeafType(std::uint8_t type) const {
  for (const auto& lt : leaf_types_)
    if (lt.type == type) return &lt;
  return nullptr;
}

bool ModuleRegistry::IsAsset(const ChainParams& params, std::string_view symbol) const {
  if (FindAsset(params.assets, symbol)) return true;
  for (const Module* m : modules_)
    if (m->OwnsAsset(symbol)) return true;
  return false;
}

Status ModuleRegistry::Migrate(store::Database& db) const {
  for (const Module* m : modules_) {
    auto migrations = m->migrations();
    if (!migrations.empty()) KRAY_TRY(db.Migrate(m->name(), migrations));
  }
  return Ok();
}

}  // namespace kray::state
