// Internal: UnitOfWork, the OpContext of one operation (or of the genesis).
// Its core state is a child StateCache of the group's cache; its module SQL
// runs under a savepoint. Commit() keeps both, Rollback() (or destruction)
// drops both. Not thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "kray/state/op_context.h"
#include "kray/store/database.h"
#include "state_cache.h"

namespace kray::state {

// A leaf's type and id, to look one up without building its id string.
struct LeafIdView {
  std::uint8_t type = 0;
  std::string_view id;
};
// LeafId's order (LeafId::operator<), between LeafIds and LeafIdViews alike.
struct LeafIdLess {
  using is_transparent = void;
  static LeafIdView View(const LeafId& l) { return {l.type, l.id}; }
  static LeafIdView View(const LeafIdView& v) { return v; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const LeafIdView x = View(a), y = View(b);
    return x.type != y.type ? x.type < y.type : x.id < y.id;
  }
};

class UnitOfWork : public OpContext {
 public:
  UnitOfWork(StateCache& group, store::Database& db, const ChainParams& params, std::int64_t now);
  ~UnitOfWork() override;

  const ChainParams& params() const override { return params_; }
  std::int64_t now() const override { return now_; }
  Result<std::optional<Account>> FindAccount(std::string_view account_id) override;
  Result<bool> AccountExists(std::string_view account_id) override;
  Status CreateAccount(std::string_view l1_address, std::string_view pubkey_hex) override;
  Status BindPubkey(std::string_view account_id, std::string_view pubkey_hex) override;
  Result<Balance> GetBalance(std::string_view account_id, std::string_view asset) override;
  Status Credit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) override;
  Status Debit(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) override;
  Result<SupplyState> Supply(std::string_view asset) override;
  Status Mint(std::string_view account_id, std::string_view asset, Amount amount) override;
  Status Burn(std::string_view account_id, std::string_view asset, Bucket b, Amount amount) override;
  Status BurnModuleValue(std::string_view asset, Amount amount) override;
  Status PayFromFeePool(std::string_view account_id, std::string_view asset, Amount amount) override;
  Status AddModuleValueToFeePool(std::string_view asset, Amount amount) override;
  Status TakeFromFeePool(std::string_view asset, Amount amount) override;
  store::Database& Sql() override;
  void Touch(LeafId leaf) override { touched_.insert(std::move(leaf)); }
  void SetResult(std::string key, std::string value) override { SetField(result_, std::move(key), std::move(value)); }
  void MarkNoChange() override { no_change_ = true; }

  // Host-only steps (not part of a module's OpContext).
  // The account's row in place, or nullptr (StateCache::PeekAccount).
  Result<const AccountRow*> PeekAccount(std::string_view id) { return cache_.PeekAccount(id); }
  // Checks nonce == the account's next nonce and increments it.
  // Conflict "nonce_conflict" ("expected N, got M").
  Status UseNonce(std::string_view account_id, std::uint64_t nonce);
  // Debits `fee` KRAY and splits it: burned half, validator half to the fee pool.
  Status ChargeGas(std::string_view account_id, Amount fee);
  // Genesis allocation: credits the account and adds to genesis_total.
  Status AllocateGenesis(std::string_view account_id, std::string_view asset, Amount amount);
  // Genesis: gives `asset` a supply row (all zero until allocated).
  Status DeclareAsset(std::string_view asset);

  // Keeps the unit's changes (merges the cache, releases the savepoint).
  Status Commit();
  void Rollback();

  // Leaves are ordered by LeafIdLess, so that touching one already touched
  // (an account is touched by each change to it, ~5 times a transfer)
  // builds no id string.
  using TouchedLeaves = std::set<LeafId, LeafIdLess>;
  const TouchedLeaves& touched() const { return touched_; }
  // Moves the leaves into `leaves` (those it lacks), with no copy: the
  // unit's set loses them.
  void MoveTouchedInto(std::set<LeafId>& leaves) { leaves.merge(touched_); }
  Fields& result() { return result_; }
  bool no_change() const { return no_change_; }
  std::size_t accounts_created() const { return accounts_created_; }

 private:
  Result<SupplyRow> MutableSupply(std::string_view asset);
  void TouchAccount(std::string_view id) { TouchLeaf(kAccountLeaf, id); }
  void TouchSupply(std::string_view asset) { TouchLeaf(kSupplyLeaf, asset); }
  void TouchLeaf(std::uint8_t type, std::string_view id) {
    auto it = touched_.lower_bound(LeafIdView{type, id});
    if (it == touched_.end() || it->type != type || it->id != id)
      touched_.emplace_hint(it, LeafId{type, std::string(id)});
  }

  StateCache cache_;
  store::Database& db_;
  const ChainParams& params_;
  std::int64_t now_;
  std::optional<store::Savepoint> savepoint_;
  std::optional<Error> broken_;  // the savepoint could not be opened
  TouchedLeaves touched_;        // core and module leaves, supply included
  Fields result_;
  bool no_change_ = false;
  bool done_ = false;
  std::size_t accounts_created_ = 0;
};

}  // namespace kray::state
