// The defi module's registration with the module host: migrations,
// operations, leaves, conservation terms, genesis section, LP assets.
#include <nlohmann/json.hpp>

#include "kray/defi/defi.h"
#include "kray/state/op_context.h"
#include "kray/state/request.h"
#include "operations.h"
#include "pool_store.h"

namespace kray::defi {
namespace {

Status ForEachPoolId(store::Database& db, const std::function<Status(std::string_view)>& fn) {
  auto st = db.Prepare("SELECT pool_id FROM defi_pools ORDER BY pool_id");
  if (!st.ok()) return std::move(st).error();
  return store::ForEachRow(*st, [&](const store::Statement& r) { return fn(r.Text(0)); });
}

Status ForEachProtocolFeeLeaf(store::Database& db, const std::function<Status(std::string_view)>& fn) {
  auto account = ConfigValue(db, kProtocolFeeKey);
  if (!account.ok()) return std::move(account).error();
  return account->empty() ? Ok() : fn(kProtocolFeeLeafId);
}

class Defi : public state::Module {
 public:
  std::string_view name() const override { return "defi"; }
  std::span<const store::Migration> migrations() const override { return DefiMigrations(); }
  std::vector<const state::OperationType*> operations() const override { return DefiOperations(); }

  std::vector<state::LeafType> leaf_types() const override {
    return {state::LeafType{kPoolLeaf, "defi.pool", EncodePoolLeaf, ForEachPoolId},
            state::LeafType{kProtocolFeeLeaf, "defi.protocol_fee", EncodeProtocolFeeLeaf, ForEachProtocolFeeLeaf}};
  }

  // Value held by the module: every pool's reserves, the LP units its first
  // deposit locked and the LP units removals returned (minted through the
  // supply ledger, held by no account), so for an LP asset
  // balances + locked + retired == minted.
  Result<std::vector<state::ConservationTerm>> Audit(store::Database& db) const override {
    auto st = db.Prepare(
        "SELECT pool_id, asset_a, asset_b, reserve_a, reserve_b, lp_retired FROM defi_pools ORDER BY pool_id");
    if (!st.ok()) return std::move(st).error();
    std::vector<state::ConservationTerm> terms;
    KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
      terms.push_back({"defi.pools", r.Text(1), static_cast<Amount>(r.Int64(3))});
      terms.push_back({"defi.pools", r.Text(2), static_cast<Amount>(r.Int64(4))});
      terms.push_back({"defi.locked_liquidity", LpAsset(r.Text(0)), kMinimumLiquidity});
      if (r.Int64(5) > 0)
        terms.push_back({"defi.retired_liquidity", LpAsset(r.Text(0)), static_cast<Amount>(r.Int64(5))});
      return Ok();
    }));
    return terms;
  }

  // {"protocol_fee_account": "<account id or address>"}: turns the protocol
  // fee on (UniswapV2Factory.feeTo). The account must exist at genesis.
  Status ApplyGenesis(state::OpContext& ctx, std::string_view section) const override {
    if (section.empty()) return Ok();
    auto j = nlohmann::json::parse(section, nullptr, false);
    if (!j.is_object()) return Error::Invalid("invalid_genesis", "defi: expected an object");
    for (const auto& [key, value] : j.items()) {
      if (key != kProtocolFeeKey) return Error::Invalid("invalid_genesis", "defi: unknown key '" + key + "'");
      if (!value.is_string())
        return Error::Invalid("invalid_genesis", "defi: protocol_fee_account must be an account id or address");
    }
    if (!j.contains(kProtocolFeeKey)) return Ok();
    auto who = state::ResolveAccount(ctx.params(), j[std::string(kProtocolFeeKey)].get<std::string>());
    if (!who.ok()) return Error::Invalid("invalid_genesis", "defi: protocol_fee_account: " + who.error().message);
    auto account = ctx.FindAccount(who->account_id);
    if (!account.ok()) return std::move(account).error();
    if (!account->has_value())
      return Error::Invalid("invalid_genesis",
                            "defi: protocol_fee_account " + who->account_id + " is not a genesis account");
    KRAY_TRY(SetConfigValue(ctx.Sql(), kProtocolFeeKey, who->account_id));
    ctx.Touch(state::LeafId{kProtocolFeeLeaf, std::string(kProtocolFeeLeafId)});
    return Ok();
  }

  // LP shares ("LP:pool_kray_btc") are assets of this module: transferable
  // and named in the asset field kind like configured ones.
  bool OwnsAsset(std::string_view symbol) const override { return IsLpAssetSymbol(symbol); }
};

}  // namespace

const state::Module& DefiModule() {
  static const Defi module;
  return module;
}

}  // namespace kray::defi
