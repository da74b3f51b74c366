// StateCache (see state_cache.h).
#include "state_cache.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "key_points.h"
#include "kray/core/bytes.h"
#include "kray/store/database.h"

namespace kray::state {

// Packed exactly when IsAccountId(id) ("kray_" + 32 lowercase hex), so
// Id() gives back the same text; tested and decoded in one pass over the
// digits (a transfer makes ~15 keys on the sequencer's thread).
StateCache::AccountKey::AccountKey(std::string_view id) {
  if (id.size() == 37 && id.starts_with("kray_") && DecodeLowerHexInto(id.substr(5), packed_)) {
    is_packed_ = true;
  } else {
    packed_ = {};
    other_ = id;
  }
}

std::size_t StateCache::AccountKey::Hash() const {
  const std::string_view bytes(reinterpret_cast<const char*>(packed_.data()), packed_.size());
  const std::size_t h = std::hash<std::string_view>{}(bytes);
  return is_packed_ ? h : h ^ std::hash<std::string>{}(other_);
}

std::string StateCache::AccountKey::Id() const {
  return is_packed_ ? "kray_" + ToHex(packed_) : other_;
}

StateCache::BalanceEntry* StateCache::AccountSlot::FindBalance(std::string_view asset) {
  for (auto& b : balances)
    if (b.asset == asset) return &b.entry;
  return nullptr;
}

StateCache::BalanceEntry& StateCache::AccountSlot::BalanceFor(std::string_view asset, bool* added) {
  BalanceEntry* e = FindBalance(asset);
  if (added) *added = e == nullptr;
  if (e) return *e;
  return balances.emplace_back(BalanceSlot{std::string(asset), BalanceEntry{}}).entry;
}

StateCache::StateCache(store::Database& db) : db_(&db) {}
StateCache::StateCache(StateCache& parent) : parent_(&parent) {}

StateCache::AccountSlot& StateCache::SlotFor(const AccountKey& key) {
  return slots_[key];
}

void StateCache::MarkDirty(AccountSlot& slot, std::string_view id) {
  if (parent_ || slot.listed_dirty) return;  // a child merges every slot it has
  slot.listed_dirty = true;
  dirty_.push_back(DirtyAccount{std::string(id), &slot});
}

Result<const StateCache::AccountEntry*> StateCache::LookupAccount(const AccountKey& key, std::string_view id) {
  if (auto it = slots_.find(key); it != slots_.end() && it->second.account_read) return &it->second.account;
  if (parent_) return parent_->LookupAccount(key, id);
  auto slot = ReadAccount(key, id);
  if (!slot.ok()) return std::move(slot).error();
  return &(*slot)->account;
}

// The account's own row and its balance rows are neighbours in one B-tree
// (schema/core/003_account_rows.sql): one range read caches them all, so
// the balance reads that follow need no query. A balance entry already
// cached is newer than the store's row (or the same): kept. With the rows
// this cache created (cached too), the slot then holds every row the
// account has: its asset list.
Result<StateCache::AccountSlot*> StateCache::ReadAccount(const AccountKey& key, std::string_view id) {
  auto st = db_->Use(
      "SELECT asset, l1_address, pubkey, nonce, created_at, gas_spent, available, staked, locked FROM account_rows "
      "WHERE account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  AccountSlot& slot = SlotFor(key);
  AccountEntry e;
  const auto unwritten = Unwritten(std::string(id));
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
    bool added = false;
    BalanceEntry& b = slot.BalanceFor(asset, &added);
    if (!added) return Ok();
    b.row =
        BalanceRow{static_cast<Amount>(s.Int64(6)), static_cast<Amount>(s.Int64(7)), static_cast<Amount>(s.Int64(8))};
    if (unwritten) unwritten->ApplyBalance(asset, b.row);
    b.exists = b.in_db = true;
    ++entries_;
    return Ok();
  }));
  slot.account = std::move(e);
  slot.account_read = true;
  slot.assets_complete = true;
  ++entries_;
  return &slot;
}

Result<const StateCache::BalanceEntry*> StateCache::LookupBalance(const AccountKey& key, std::string_view id,
                                                                  std::string_view asset) {
  // A row that does not exist is not cached: a slot holds only rows an
  // account has (or had), so its linear search stays short however many
  // made-up assets (any "LP:pool_…" name is one) a signer asks for.
  static const BalanceEntry kNoRow{};
  if (auto it = slots_.find(key); it != slots_.end()) {
    if (const BalanceEntry* e = it->second.FindBalance(asset)) return e;
    if (!parent_ && it->second.assets_complete) return &kNoRow;
  }
  if (parent_) return parent_->LookupBalance(key, id, asset);
  auto st = db_->Use("SELECT available, staked, locked FROM balances WHERE account_id=?1 AND asset=?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, asset);
  auto row = store::FirstRow<BalanceRow>(**st, [](const store::Statement& s) {
    return BalanceRow{static_cast<Amount>(s.Int64(0)), static_cast<Amount>(s.Int64(1)),
                      static_cast<Amount>(s.Int64(2))};
  });
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return &kNoRow;
  BalanceEntry& e = SlotFor(key).BalanceFor(asset);
  ++entries_;
  e.row = **row;
  e.exists = e.in_db = true;
  if (const auto unwritten = Unwritten(std::string(id))) unwritten->ApplyBalance(asset, e.row);
  return &e;
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
  auto row = PeekAccount(id);
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<AccountRow>();
  return std::optional<AccountRow>(**row);
}

Result<const AccountRow*> StateCache::PeekAccount(std::string_view id) {
  auto e = LookupAccount(AccountKey(id), id);
  if (!e.ok()) return std::move(e).error();
  return (*e)->exists ? &(*e)->row : nullptr;
}

Result<AccountRow*> StateCache::MutableAccount(std::string_view id) {
  const AccountKey key(id);
  auto cur = LookupAccount(key, id);
  if (!cur.ok()) return std::move(cur).error();
  if (!(*cur)->exists) return static_cast<AccountRow*>(nullptr);
  AccountSlot& slot = SlotFor(key);
  if (&slot.account != *cur) {  // a parent's entry: this cache's own copy
    if (!slot.account_read) ++entries_;
    slot.account_read = true;
    slot.account.row = (*cur)->row;
    slot.account.exists = true;
    slot.account.in_db = (*cur)->in_db;
  }
  slot.account.dirty = true;
  MarkDirty(slot, id);
  return &slot.account.row;
}

void StateCache::PutAccount(std::string_view id, AccountRow row) {
  const AccountKey key(id);
  bool in_db = false;
  if (auto cur = LookupAccount(key, id); cur.ok()) in_db = (*cur)->in_db;
  AccountSlot& slot = SlotFor(key);
  if (!slot.account_read) ++entries_;
  slot.account_read = true;
  slot.account.row = std::move(row);
  slot.account.exists = true;
  slot.account.in_db = in_db;
  slot.account.dirty = true;
  MarkDirty(slot, id);
}

Result<BalanceRow> StateCache::GetBalance(std::string_view id, std::string_view asset) {
  auto e = LookupBalance(AccountKey(id), id, asset);
  if (!e.ok()) return std::move(e).error();
  return (*e)->row;
}

void StateCache::PutBalance(std::string_view id, std::string_view asset, const BalanceRow& v) {
  const AccountKey key(id);
  bool in_db = false;
  if (auto cur = LookupBalance(key, id, asset); cur.ok()) in_db = (*cur)->in_db;
  AccountSlot& slot = SlotFor(key);
  bool added = false;
  BalanceEntry& e = slot.BalanceFor(asset, &added);
  if (added) ++entries_;
  e.row = v;
  e.exists = true;
  e.in_db = in_db;
  e.dirty = true;
  MarkDirty(slot, id);
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

// Only when the slot's account entry did not come from ReadAccount (its
// read failed, or the account was merged in without one).
Status StateCache::LoadAssetList(AccountSlot& slot, std::string_view id) {
  auto st = db_->Use("SELECT asset, available, staked, locked FROM balances WHERE account_id=?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id);
  const auto unwritten = Unwritten(std::string(id));
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& s) -> Status {
    const std::string asset = s.Text(0);
    bool added = false;
    BalanceEntry& e = slot.BalanceFor(asset, &added);
    if (!added) return Ok();  // a cached entry is newer (or the same)
    e.row =
        BalanceRow{static_cast<Amount>(s.Int64(1)), static_cast<Amount>(s.Int64(2)), static_cast<Amount>(s.Int64(3))};
    if (unwritten) unwritten->ApplyBalance(asset, e.row);
    e.exists = e.in_db = true;
    ++entries_;
    return Ok();
  }));
  slot.assets_complete = true;
  return Ok();
}

Result<bool> StateCache::AccountState(std::string_view id, Account& a) {
  const AccountKey key(id);
  auto entry = LookupAccount(key, id);
  if (!entry.ok()) return std::move(entry).error();
  if (!(*entry)->exists) return false;
  AccountSlot& slot = SlotFor(key);
  if (!slot.assets_complete) KRAY_TRY(LoadAssetList(slot, id));
  a.account_id.assign(id);
  a.l1_address.assign(slot.account.row.l1_address);
  a.pubkey_hex.assign(slot.account.row.pubkey);
  a.nonce = slot.account.row.nonce;
  a.created_at = slot.account.row.created_at;
  a.balances.clear();
  for (const auto& b : slot.balances)
    if (b.entry.exists) a.balances.push_back(Balance{b.asset, b.entry.row[0], b.entry.row[1], b.entry.row[2]});
  std::sort(a.balances.begin(), a.balances.end(), [](const Balance& x, const Balance& y) { return x.asset < y.asset; });
  return true;
}

Result<std::optional<Account>> StateCache::AccountState(std::string_view id) {
  Account a;
  auto exists = AccountState(id, a);
  if (!exists.ok()) return std::move(exists).error();
  if (!*exists) return std::optional<Account>();
  return std::optional<Account>(std::move(a));
}

// A child's entries are all its own puts (its lookups read through): each
// becomes the parent's, dirty there.
void StateCache::MergeIntoParent() {
  for (auto& [key, child] : slots_) {
    AccountSlot& slot = parent_->SlotFor(key);
    if (child.account_read) {
      if (!slot.account_read) ++parent_->entries_;
      slot.account_read = true;
      slot.account = std::move(child.account);
      slot.account.dirty = true;
    }
    for (auto& b : child.balances) {
      bool added = false;
      BalanceEntry& e = slot.BalanceFor(b.asset, &added);
      if (added) ++parent_->entries_;
      e = b.entry;
      e.dirty = true;
    }
    if (!parent_->parent_ && !slot.listed_dirty) parent_->MarkDirty(slot, key.Id());
  }
  for (auto& [asset, e] : supply_) {
    auto [it, inserted] = parent_->supply_.try_emplace(asset);
    if (inserted || !it->second.dirty) parent_->dirty_supply_.push_back(asset);
    it->second = e;
    it->second.dirty = true;
  }
  Clear();
}

Status StateCache::FlushAccount(const std::string& id, AccountEntry& e) {
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

Status StateCache::FlushBalance(const std::string& id, const std::string& asset, BalanceEntry& e) {
  if (!e.dirty) return Ok();
  if (wb_ && e.in_db) {
    AppendBalanceImage(wb_->record, id, asset, e.row);
    wb_->pending[id].balances.insert_or_assign(asset, e.row);
    e.dirty = false;
    return Ok();
  }
  auto st =
      e.in_db
          ? db_->Use("UPDATE account_rows SET available=?3, staked=?4, locked=?5 WHERE account_id=?1 AND asset=?2")
          : db_->Use("INSERT INTO account_rows (account_id, asset, available, staked, locked) VALUES (?1,?2,?3,?4,?5)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).Bind(2, asset);
  for (int i = 0; i < 3; ++i) (*st)->Bind(3 + i, static_cast<std::int64_t>(e.row[i]));
  KRAY_TRY((*st)->Run());
  e.in_db = true;
  e.dirty = false;
  return Ok();
}

// Accounts sorted by id, each one's rows by asset: one walk in
// account_rows' key order (account id, then asset, the account's own row
// first), so a large flush appends to the B-tree instead of splitting pages
// it has just filled, and an account's own row is written before its
// balance rows.
Status StateCache::FlushAccountRows() {
  for (const DirtyAccount& d : dirty_) {
    AccountSlot& slot = *d.slot;
    auto& balances = slot.balances;
    const bool creates_row =
        std::any_of(balances.begin(), balances.end(), [](const auto& b) { return b.entry.dirty && !b.entry.in_db; });
    if (creates_row) {
      // What balances' foreign key to accounts said (schema/core/
      // 003_account_rows.sql): a new balance row belongs to an account.
      // Its own row is written first (below) or was in the store. (Looked
      // up before the walk: a read adds to `balances`.)
      auto account = LookupAccount(AccountKey(d.id), d.id);
      if (!account.ok()) return std::move(account).error();
      if (!(*account)->exists)
        return Error::Internal("state: a balance row for account " + d.id + ", which does not exist");
    }
    KRAY_TRY(FlushAccount(d.id, slot.account));
    std::sort(balances.begin(), balances.end(), [](const auto& a, const auto& b) { return a.asset < b.asset; });
    for (auto& b : balances) KRAY_TRY(FlushBalance(d.id, b.asset, b.entry));
  }
  return Ok();
}

// A key that is not a point (the executor binds only keys that parse) gets
// no row and is parsed, and refused, at use as before.
Status StateCache::FlushKeyPoints() {
  std::vector<const std::string*> ids;
  std::vector<crypto::XOnlyPubKey> keys;
  for (const DirtyAccount& d : dirty_) {
    auto& e = d.slot->account;
    if (!e.dirty || !e.row.key_point_due) continue;
    e.row.key_point_due = false;
    if (wb_) wb_->bound_now.insert(d.id);
    if (auto key = FromHexFixed<32>(e.row.pubkey)) {
      ids.push_back(&d.id);
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
  std::vector<std::string> out;
  out.reserve(dirty_.size());
  for (const DirtyAccount& d : dirty_) out.push_back(d.id);
  return out;
}

Status StateCache::Flush() {
  // In key order: rows of neighbouring keys share B-tree pages, and a large
  // flush (a genesis of a million accounts) in arrival order would write
  // every page many times over (once per spill of SQLite's page cache).
  std::sort(dirty_.begin(), dirty_.end(), [](const DirtyAccount& a, const DirtyAccount& b) { return a.id < b.id; });
  KRAY_TRY(FlushKeyPoints());
  KRAY_TRY(FlushAccountRows());
  if (wb_) KRAY_TRY(WriteRedoAndSweep());
  KRAY_TRY(FlushSupply());
  for (const DirtyAccount& d : dirty_) d.slot->listed_dirty = false;
  dirty_.clear();
  dirty_supply_.clear();
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
  slots_.clear();
  entries_ = 0;
  supply_.clear();
  dirty_.clear();
  dirty_supply_.clear();
}

void StateCache::Reserve(std::size_t accounts) {
  reserved_ = accounts;
  slots_.reserve(accounts);
}

bool StateCache::Trim(std::size_t max) {
  FreeDropped(kFreedPerTrim);
  if (size() <= max) return false;
  if (!dirty_.empty() || !dirty_supply_.empty()) return false;  // not between groups
  // Everything at once, freed a slice per group (FreeDropped). Freed in one
  // go, two million entries held the sequencer 0.4 s, and every request
  // with it; freed on another thread, 1.0 s in one run (its frees and the
  // sequencer's allocations meet in one malloc arena). Dropping a few
  // accounts each group past the bound kept more cached but ran 6-8 %
  // slower than refilling from empty (docs/BENCHMARKS.md, forty-second
  // round).
  FreeDropped(SIZE_MAX);
  dropped_ = std::make_unique<Dropped>(Dropped{std::exchange(slots_, {}), std::exchange(supply_, {})});
  entries_ = 0;
  Reserve(reserved_);
  return true;
}

void StateCache::FreeDropped(std::size_t n) {
  if (!dropped_) return;
  auto free_from = [&n](auto& map) {
    for (; n > 0 && !map.empty(); --n) map.erase(map.begin());
  };
  free_from(dropped_->slots);
  free_from(dropped_->supply);
  if (n > 0) dropped_.reset();  // all freed: the tables' buckets too
}

}  // namespace kray::state
