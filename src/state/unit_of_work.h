// Internal: UnitOfWork, the OpContext of one operation (or of the genesis).
// Its core state is a child StateCache of the group's cache; its module SQL
// runs under a savepoint. Commit() keeps both, Rollback() (or destruction)
// drops both. Not thread-safe.
#pragma once

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "kray/state/op_context.h"
#include "kray/store/database.h"
#include "state_cache.h"

namespace kray::state {

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
  void Touch(LeafId leaf) override;
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

  // Hands over the leaves touched, each once, in LeafId order (moved out:
  // the unit forgets them), to `take(LeafId&&)`.
  template <class Take>
  void TakeTouched(Take&& take) {
    std::sort(listed_.begin(), listed_.end());
    for (auto& leaf : listed_) take(std::move(leaf));
    listed_.clear();
    for (auto& [type, ids] : spilled_)  // by type, then id: LeafId order
      while (!ids.empty()) take(LeafId{type, std::move(ids.extract(ids.begin()).value())});
    spilled_.clear();
  }
  Fields& result() { return result_; }
  bool no_change() const { return no_change_; }
  std::size_t accounts_created() const { return accounts_created_; }

 private:
  Result<SupplyRow> MutableSupply(std::string_view asset);
  void TouchAccount(std::string_view id) { TouchLeaf(kAccountLeaf, id); }
  void TouchSupply(std::string_view asset) { TouchLeaf(kSupplyLeaf, asset); }
  void TouchLeaf(std::uint8_t type, std::string_view id);

  StateCache cache_;
  store::Database& db_;
  const ChainParams& params_;
  std::int64_t now_;
  std::optional<store::Savepoint> savepoint_;
  std::optional<Error> broken_;  // the savepoint could not be opened
  // Core and module leaves touched, supply included, each once. An
  // operation touches a few, most of them many times (a transfer: two
  // accounts ~5 times and the gas supply), so up to kListed are listed in
  // place and searched in order: no node, and no id string once a leaf is
  // listed. Past kListed (the genesis, a market sweep, a batch) they move
  // to sets by type, searched without building the id string either.
  static constexpr std::size_t kListed = 8;
  boost::container::small_vector<LeafId, kListed> listed_;
  std::map<std::uint8_t, std::set<std::string, std::less<>>> spilled_;
  Fields result_;
  bool no_change_ = false;
  bool done_ = false;
  std::size_t accounts_created_ = 0;
};

}  // namespace kray::state
