// StateCache (see state_cache.h).
#include "state_cache.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <utility>

#include "key_points.h"
#include "kray/core/bytes.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

std::string BalanceKey(std::string_view id, std::string_view asset) {
  std::string k;
  k.reserve(id.size() + asset.size() + 1);
  k.append(id).push_back('|');
  k.append(asset);
  return k;
}

}  // namespace

StateCache::StateCache(store::Database& db) : db_(&db) {}
StateCache::StateCache(StateCache& parent) : parent_(&parent) {}

Result<const StateCache::AccountEntry*> StateCache::LookupAccount(const std::string& id) {
  if (auto it = accounts_.find(id); it != accounts_.end()) return &it->second;
  if (parent_) return parent_->LookupAccount(id);
  // The account's own row and its balance rows are neighbours in one B-tree
  // (schema/core/003_account_rows.sql): one range read caches them all, so
  // the balance reads that follow need no query. A balance entry already
  // cached is newer than the store's row (or the same): kept.
  auto st = db_->Use(
      "SELECT asset, l1_address, pubkey, nonce, created_at, gas_spent, available, staked, locked FROM account_rows "
      "WHERE account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  AccountEntry e;
  std::set<std::string, std::less<>> assets;
  const auto unwritten = Unwritten(id);
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    std::string asset = s.Text(0);
    if (asset.empty()) {
      e.row = AccountRow{s.Text(1), s.Text(2), static_cast<std::uint64_t>(s.Int64(3)), s.Int64(4),
                         static_cast<Amount>(s.Int64(5))};
      if (unwritten && unwritten->own) {
        e.row.nonce = unwritten->own->nonce;
        e.row.gas_spent = unwritten->own->gas_spent;
      }
      e.exists = e.in_db = true;
      return Ok();
    }
    BalanceEntry b;
    b.row =
        BalanceRow{static_cast<Amount>(s.Int64(6)), static_cast<Amount>(s.Int64(7)), static_cast<Amount>(s.Int64(8))};
    if (unwritten) unwritten->ApplyBalance(asset, b.row);
    b.exists = b.in_db = true;
    balances_.try_emplace(BalanceKey(id, asset), b);
    assets.insert(std::move(asset));
    return Ok();
  }));
  // The read saw every balance row the store has, so it is the account's
  // asset list (AccountState) unless this cache created a row for it before
  // this read: then LoadAssetList merges those in later.
  if (e.exists && !unlisted_rows_.contains(id)) asset_lists_.try_emplace(id, std::move(assets));
  return &accounts_.emplace(id, std::move(e)).first->second;
}

Result<const StateCache::BalanceEntry*> StateCache::LookupBalance(const std::string& key, std::string_view id,
                                                                  std::string_view asset) {
  if (auto it = balances_.find(key); it != balances_.end()) return &it->second;
  if (parent_) return parent_->LookupBalance(key, id, asset);
  auto st = db_->Use("SELECT available, staked, locked FROM balances WHERE account_id=?1 AND asset=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, asset);
  auto row = store::FirstRow<BalanceRow>(**st, [](const store::Statement& s) {
    return BalanceRow{static_cast<Amount>(s.Int64(0)), static_cast<Amount>(s.Int64(1)),
                      static_cast<Amount>(s.Int64(2))};
  });
  if (!row.ok()) return std::move(row).error();
  BalanceEntry e;
  if (row->has_value()) {
    e.row = **row;
    e.exists = e.in_db = true;
    if (const auto unwritten = Unwritten(std::string(id))) unwritten->ApplyBalance(asset, e.row);
  }
  return &balances_.emplace(key, e).first->second;
}

Result<const StateCache::SupplyEntry*> StateCache::LookupSupply(const std::string& asset) {
  if (auto it = supply_.find(asset); it != supply_.end()) return &it->second;
  if (parent_) return parent_->LookupSupply(asset);
  auto st = db_->Use("SELECT genesis_total, minted, burned, fee_pool FROM supply WHERE asset=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, asset);
  auto row = store::FirstRow<SupplyRow>(**st, [](const store::Statement& s) {
    return SupplyRow{static_cast<Amount>(s.Int64(0)), static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)),
                     static_cast<Amount>(s.Int64(3))};
  });
  if (!row.ok()) return std::move(row).error();
  SupplyEntry e;
  if (row->has_value()) {
    e.row = **row;
    e.exists = e.in_db = true;
  }
  return &supply_.emplace(asset, e).first->second;
}

Result<std::optional<AccountRow>> StateCache::FindAccount(std::string_view id) {
  auto e = LookupAccount(std::string(id));
  if (!e.ok()) return std::move(e).error();
  if (!(*e)->exists) return std::optional<AccountRow>();
  return std::optional<AccountRow>((*e)->row);
}

void StateCache::PutAccount(std::string_view id, AccountRow row) {
  std::string key(id);
  bool in_db = false;
  if (auto cur = LookupAccount(key); cur.ok()) in_db = (*cur)->in_db;
  auto& e = accounts_[key];
  if (!e.dirty) dirty_accounts_.push_back(key);
  e.row = std::move(row);
  e.exists = true;
  e.in_db = in_db;
  e.dirty = true;
}

Result<BalanceRow> StateCache::GetBalance(std::string_view id, std::string_view asset) {
  auto e = LookupBalance(BalanceKey(id, asset), id, asset);
  if (!e.ok()) return std::move(e).error();
  return (*e)->row;
}

void StateCache::PutBalance(std::string_view id, std::string_view asset, const BalanceRow& v) {
  if (!parent_) NoteBalanceRow(id, asset);
  std::string key = BalanceKey(id, asset);
  bool in_db = false;
  if (auto cur = LookupBalance(key, id, asset); cur.ok()) in_db = (*cur)->in_db;
  auto& e = balances_[key];
  if (!e.dirty) dirty_balances_.push_back(key);
  e.row = v;
  e.exists = true;
  e.in_db = in_db;
  e.dirty = true;
}

Result<SupplyRow> StateCache::GetSupply(std::string_view asset) {
  auto e = LookupSupply(std::string(asset));
  if (!e.ok()) return std::move(e).error();
  return (*e)->row;
}

void StateCache::PutSupply(std::string_view asset, const SupplyRow& v) {
  std::string key(asset);
  bool in_db = false;
  if (auto cur = LookupSupply(key); cur.ok()) in_db = (*cur)->in_db;
  auto& e = supply_[key];
  if (!e.dirty) dirty_supply_.push_back(key);
  e.row = v;
  e.exists = true;
  e.in_db = in_db;
  e.dirty = true;
}

void StateCache::NoteBalanceRow(std::string_view id, std::string_view asset) {
  std::string key(id);
  if (auto it = asset_lists_.find(key); it != asset_lists_.end())
    it->second.emplace(asset);
  else if (!accounts_.contains(key))  // else no later LookupAccount reads the store
    unlisted_rows_.insert(std::move(key));
}

Status StateCache::LoadAssetList(const std::string& id) {
  auto st = db_->Use("SELECT asset, available, staked, locked FROM balances WHERE account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  std::set<std::string, std::less<>> assets;
  const auto unwritten = Unwritten(id);
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    std::string asset = s.Text(0);
    BalanceEntry e;
    e.row =
        BalanceRow{static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)), static_cast<Amount>(s.Int64(3))};
    if (unwritten) unwritten->ApplyBalance(asset, e.row);
    e.exists = e.in_db = true;
    balances_.try_emplace(BalanceKey(id, asset), e);  // a cached entry is newer (or the same)
    assets.insert(std::move(asset));
    return Ok();
  }));
  // Rows this cache created and has not flushed yet (none after a Flush).
  const std::string prefix = id + '|';
  for (const auto& key : dirty_balances_)
    if (key.starts_with(prefix) && balances_.at(key).exists) assets.insert(key.substr(prefix.size()));
  asset_lists_.emplace(id, std::move(assets));
  return Ok();
}

Result<std::optional<Account>> StateCache::AccountState(std::string_view id_view) {
  const std::string id(id_view);
  auto entry = LookupAccount(id);
  if (!entry.ok()) return std::move(entry).error();
  if (!(*entry)->exists) return std::optional<Account>();
  Account a;
  a.account_id = id;
  a.l1_address = (*entry)->row.l1_address;
  a.pubkey_hex = (*entry)->row.pubkey;
  a.nonce = (*entry)->row.nonce;
  a.created_at = (*entry)->row.created_at;
  auto list = asset_lists_.find(id);
  if (list == asset_lists_.end()) {
    KRAY_TRY(LoadAssetList(id));
    list = asset_lists_.find(id);
  }
  for (const auto& asset : list->second) {
    auto row = balances_.find(BalanceKey(id, asset));
    if (row == balances_.end()) return Error::Internal("state cache: balance row of " + id + " " + asset + " missing");
    a.balances.push_back(Balance{asset, row->second.row[0], row->second.row[1], row->second.row[2]});
  }
  return std::optional<Account>(std::move(a));
}

namespace {
// Moves `e` into `map[key]` and records the key in `dirty` the first time
// it becomes dirty there (so a flush visits dirty entries only).
template <class Map, class E>
void MergeEntry(Map& map, std::vector<std::string>& dirty, const std::string& key, E&& e) {
  auto [it, inserted] = map.try_emplace(key);
  if (inserted || !it->second.dirty) dirty.push_back(key);
  it->second = std::forward<E>(e);
  it->second.dirty = true;
}
}  // namespace

void StateCache::MergeIntoParent() {
  for (auto& [k, e] : accounts_) MergeEntry(parent_->accounts_, parent_->dirty_accounts_, k, std::move(e));
  for (auto& [k, e] : balances_) {
    if (e.exists && !parent_->parent_) {
      const auto sep = k.find('|');
      parent_->NoteBalanceRow(std::string_view(k).substr(0, sep), std::string_view(k).substr(sep + 1));
    }
    MergeEntry(parent_->balances_, parent_->dirty_balances_, k, e);
  }
  for (auto& [k, e] : supply_) MergeEntry(parent_->supply_, parent_->dirty_supply_, k, e);
  Clear();
}

Status StateCache::FlushAccount(const std::string& id) {
  auto& e = accounts_.at(id);
  if (!e.dirty) return Ok();
  const AccountRow& a = e.row;
  if (wb_ && e.in_db) {
    const UnwrittenAccount::Own own{a.nonce, a.gas_spent};
    AppendOwnImage(wb_->record, id, own);
    wb_->pending[id].own = own;
    // A key bound now is written at once (key lookups read the store);
    // the image above keeps the unwritten rows coherent all the same.
    if (!wb_->bound_now.contains(id)) {
      e.dirty = false;
      return Ok();
    }
  }
  // account_rows (schema/core/003_account_rows.sql): the account's own row
  // is the one under asset ''.
  auto st = e.in_db ? db_->Use(
                          "UPDATE account_rows SET pubkey=?2, nonce=?3, gas_spent=?4 WHERE account_id=?1 AND "
                          "asset=''")
                    : db_->Use(
                          "INSERT INTO account_rows (account_id, asset, pubkey, nonce, gas_spent, l1_address, "
                          "created_at) VALUES (?1,'',?2,?3,?4,?5,?6)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).BindTextOrNull(2, a.pubkey).Bind(3, static_cast<std::int64_t>(a.nonce));
  (*st)->Bind(4, static_cast<std::int64_t>(a.gas_spent));
  if (!e.in_db) (*st)->Bind(5, a.l1_address).Bind(6, a.created_at);
  KRAY_TRY((*st)->Run());
  e.in_db = true;
  e.dirty = false;
  return Ok();
}

Status StateCache::FlushBalance(const std::string& key) {
  if (!balances_.at(key).dirty) return Ok();
  const auto sep = key.find('|');
  const std::string_view id = std::string_view(key).substr(0, sep);
  if (!balances_.at(key).in_db) {
    // What balances' foreign key to accounts said (schema/core/
    // 003_account_rows.sql): a new balance row belongs to an account. Its
    // own row is written first (FlushAccountRows) or was in the store.
    auto account = LookupAccount(std::string(id));
    if (!account.ok()) return std::move(account).error();
    if (!(*account)->exists)
      return Error::Internal("state: a balance row for account " + std::string(id) + ", which does not exist");
  }
  auto& e = balances_.at(key);
  if (wb_ && e.in_db) {
    const std::string_view asset = std::string_view(key).substr(sep + 1);
    AppendBalanceImage(wb_->record, id, asset, e.row);
    wb_->pending[std::string(id)].balances.insert_or_assign(std::string(asset), e.row);
    e.dirty = false;
    return Ok();
  }
  auto st =
      e.in_db
          ? db_->Use("UPDATE account_rows SET available=?3, staked=?4, locked=?5 WHERE account_id=?1 AND asset=?2")
          : db_->Use("INSERT INTO account_rows (account_id, asset, available, staked, locked) VALUES (?1,?2,?3,?4,?5)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, std::string_view(key).substr(sep + 1));
  for (int i = 0; i < 3; ++i) (*st)->Bind(3 + i, static_cast<std::int64_t>(e.row[i]));
  KRAY_TRY((*st)->Run());
  e.in_db = true;
  e.dirty = false;
  return Ok();
}

// Both lists sorted; written as one walk in account_rows' key order
// (account id, then asset, the account's own row first), so a large flush
// appends to the B-tree instead of splitting pages it has just filled, and
// an account's own row is written before its balance rows.
Status StateCache::FlushAccountRows() {
  auto a = dirty_accounts_.begin();
  auto b = dirty_balances_.begin();
  while (a != dirty_accounts_.end() || b != dirty_balances_.end()) {
    const bool account_first = b == dirty_balances_.end() ||
                               (a != dirty_accounts_.end() && *a <= std::string_view(*b).substr(0, b->find('|')));
    KRAY_TRY(account_first ? FlushAccount(*a++) : FlushBalance(*b++));
  }
  return Ok();
}

// A key that is not a point (the executor binds only keys that parse) gets
// no row and is parsed, and refused, at use as before.
Status StateCache::FlushKeyPoints() {
  std::vector<const std::string*> ids;
  std::vector<crypto::XOnlyPubKey> keys;
  for (const auto& id : dirty_accounts_) {
    auto& e = accounts_.at(id);
    if (!e.dirty || !e.row.key_point_due) continue;
    e.row.key_point_due = false;
    if (wb_) wb_->bound_now.insert(id);
    if (auto key = FromHexFixed<32>(e.row.pubkey)) {
      ids.push_back(&id);
      keys.push_back(*key);
    }
  }
  const auto ys = LiftKeys(keys);  // a genesis of a million keys: on the cores
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ys[i]) KRAY_TRY(WriteKeyPoint(*db_, *ids[i], *ys[i]));
  return Ok();
}

Status StateCache::FlushSupply() {
  for (const auto& asset : dirty_supply_) {
    auto& e = supply_.at(asset);
    if (!e.dirty) continue;
    auto st =
        e.in_db
            ? db_->Use("UPDATE supply SET genesis_total=?2, minted=?3, burned=?4, fee_pool=?5 WHERE asset=?1")
            : db_->Use("INSERT INTO supply (asset, genesis_total, minted, burned, fee_pool) VALUES (?1,?2,?3,?4,?5)");
    if (!st.ok()) return std::move(st).error();
    const SupplyRow& s = e.row;
    (*st)->Bind(1, asset).Bind(2, static_cast<std::int64_t>(s.genesis)).Bind(3, static_cast<std::int64_t>(s.minted));
    (*st)->Bind(4, static_cast<std::int64_t>(s.burned)).Bind(5, static_cast<std::int64_t>(s.fee_pool));
    KRAY_TRY((*st)->Run());
    e.in_db = true;
    e.dirty = false;
  }
  return Ok();
}

std::vector<std::string> StateCache::DirtyAccountIds() const {
  std::unordered_set<std::string_view> seen;
  std::vector<std::string> out;
  for (const auto& id : dirty_accounts_)
    if (seen.insert(id).second) out.push_back(id);
  for (const auto& key : dirty_balances_) {
    std::string_view id = std::string_view(key).substr(0, key.find('|'));
    if (seen.insert(id).second) out.emplace_back(id);
  }
  return out;
}

Status StateCache::Flush() {
  // In key order: rows of neighbouring keys share B-tree pages, and a large
  // flush (a genesis of a million accounts) in arrival order would write
  // every page many times over (once per spill of SQLite's page cache).
  std::sort(dirty_accounts_.begin(), dirty_accounts_.end());
  std::sort(dirty_balances_.begin(), dirty_balances_.end());
  KRAY_TRY(FlushKeyPoints());
  KRAY_TRY(FlushAccountRows());
  if (wb_) KRAY_TRY(WriteRedoAndSweep());
  KRAY_TRY(FlushSupply());
  dirty_accounts_.clear();
  dirty_balances_.clear();
  dirty_supply_.clear();
  unlisted_rows_.clear();  // the store now has every row the cache knows
  return Ok();
}

void StateCache::Clear() {
  if (wb_) {  // a rolled-back group: none of its write-back happened
    wb_->rows->Settle(wb_->pending, false);
    wb_->record.clear();
    wb_->pending.clear();
    wb_->swept.clear();
    wb_->swept_unqueued.clear();
    wb_->swept_count = 0;
    wb_->sweep_ended = false;
    wb_->redundant_from_now = 0;
    wb_->delete_through = 0;
    wb_->group_seq = 0;
    wb_->bound_now.clear();
  }
  accounts_.clear();
  balances_.clear();
  asset_lists_.clear();
  unlisted_rows_.clear();
  supply_.clear();
  dirty_accounts_.clear();
  dirty_balances_.clear();
  dirty_supply_.clear();
}

void StateCache::Reserve(std::size_t accounts) {
  reserved_ = accounts;
  accounts_.reserve(accounts);
  balances_.reserve(accounts);
  asset_lists_.reserve(accounts);
}

void StateCache::Trim(std::size_t max) {
  FreeDropped(kFreedPerTrim);
  if (size() <= max) return;
  if (!dirty_accounts_.empty() || !dirty_balances_.empty() || !dirty_supply_.empty()) return;  // not between groups
  // Everything at once, freed a slice per group (FreeDropped). Freed in one
  // go, two million entries held the sequencer 0.4 s, and every request
  // with it; freed on another thread, 1.0 s in one run (its frees and the
  // sequencer's allocations meet in one malloc arena). Dropping a few
  // accounts each group past the bound kept more cached but ran 6-8 %
  // slower than refilling from empty (docs/BENCHMARKS.md, forty-second
  // round).
  FreeDropped(SIZE_MAX);
  dropped_ = std::make_unique<Dropped>(Dropped{std::exchange(accounts_, {}), std::exchange(balances_, {}),
                                               std::exchange(asset_lists_, {}), std::exchange(supply_, {})});
  Reserve(reserved_);
}

void StateCache::FreeDropped(std::size_t n) {
  if (!dropped_) return;
  auto free_from = [&n](auto& map) {
    for (; n > 0 && !map.empty(); --n) map.erase(map.begin());
  };
  free_from(dropped_->accounts);
  free_from(dropped_->balances);
  free_from(dropped_->asset_lists);
  free_from(dropped_->supply);
  if (n > 0) dropped_.reset();  // all freed: the tables' buckets too
}

}  // namespace kray::state
