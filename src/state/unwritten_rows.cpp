// The account rows' write-back: images, records, scopes (unwritten_rows.h).
#include "unwritten_rows.h"

#include "kray/state/op_log.h"
#include "kray/store/database.h"

namespace kray::state {
namespace {

constexpr std::uint8_t kOwnRow = 1;
constexpr std::uint8_t kBalanceRow = 2;

void PutU64(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void PutString(Bytes& out, std::string_view s) {
  out.push_back(static_cast<std::uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

// Reads a record front to back; any short or oversized field is an error.
class Reader {
 public:
  explicit Reader(ByteSpan b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }
  std::optional<std::uint8_t> Byte() {
    if (pos_ >= b_.size()) return std::nullopt;
    return b_[pos_++];
  }
  std::optional<std::uint64_t> U64() {
    if (b_.size() - pos_ < 8) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | b_[pos_++];
    return v;
  }
  std::optional<std::string> String() {
    auto n = Byte();
    if (!n || b_.size() - pos_ < *n) return std::nullopt;
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), *n);
    pos_ += *n;
    return s;
  }

 private:
  ByteSpan b_;
  std::size_t pos_ = 0;
};

Error Malformed() {
  return Error::Internal("account_redo: malformed record");
}

thread_local RedoScope* current_scope = nullptr;

}  // namespace

void UnwrittenAccount::Merge(const UnwrittenAccount& newer) {
  if (newer.own) own = newer.own;
  for (const auto& [asset, row] : newer.balances) balances.insert_or_assign(asset, row);
}

void UnwrittenAccount::ApplyTo(Account& a) const {
  if (own) a.nonce = own->nonce;
  for (auto& b : a.balances) {
    auto it = balances.find(b.asset);
    if (it == balances.end()) continue;
    b.available = it->second[0];
    b.staked = it->second[1];
    b.locked = it->second[2];
  }
}

std::optional<UnwrittenAccount> UnwrittenRows::Find(const std::string& account_id) const {
  const Shard& s = ShardOf(account_id);
  std::lock_guard lock(s.mu);
  auto it = s.accounts.find(account_id);
  if (it == s.accounts.end()) return std::nullopt;
  return it->second.committed;
}

const UnwrittenAccount* UnwrittenRows::Peek(const std::string& account_id) const {
  const Shard& s = ShardOf(account_id);
  auto it = s.accounts.find(account_id);
  return it == s.accounts.end() ? nullptr : &it->second.committed;
}

Result<std::optional<UnwrittenAccount>> UnwrittenRows::FindIn(const std::string& account_id,
                                                              store::Database& snapshot) const {
  std::optional<UnwrittenAccount> out;
  std::optional<UnwrittenAccount> staged;
  std::uint64_t staged_seq = 0;
  {
    const Shard& s = ShardOf(account_id);
    std::lock_guard lock(s.mu);
    if (auto it = s.accounts.find(account_id); it != s.accounts.end()) {
      out = it->second.committed;
      if (it->second.staged) staged = *it->second.staged;
      staged_seq = it->second.staged_seq;
    }
  }
  // The store's rows are the newest for what is not here, unless this
  // snapshot is older than a write-back whose accounts were forgotten
  // since: with none here, all of the account's rows; with images a later
  // group committed, the rows it did not change.
  const std::uint64_t erased = erased_through_.load(std::memory_order_acquire);
  if (erased > 0) {
    auto seen = ReadWriteBackSeq(snapshot);
    if (!seen.ok()) return std::move(seen).error();
    if (*seen < erased)
      return Error::Unavailable("snapshot_stale",
                                "the read's snapshot is older than the account rows' write-back; "
                                "read again");
  }
  if (!out) return out;
  if (staged) {
    // Committing now: its images are this snapshot's if it shows the group.
    auto last = LastSeq(snapshot);
    if (!last.ok()) return std::move(last).error();
    if (*last >= staged_seq) out->Merge(*staged);
  }
  return out;
}

Result<std::uint64_t> ReadWriteBackSeq(store::Database& db) {
  auto v = store::QueryInt(db, std::string("SELECT value FROM counters WHERE name = '") + kWriteBackSeqCounter + "'");
  if (!v.ok()) return std::move(v).error();
  return static_cast<std::uint64_t>(*v);
}

void UnwrittenRows::Stage(const RedoImages& images, std::uint64_t last_seq) {
  staged_from_ = &images;
  staged_entries_.clear();
  staged_entries_.reserve(images.size());
  for (const auto& [id, images_of] : images) {
    Shard& s = ShardOf(id);
    std::lock_guard lock(s.mu);
    Node& n = *s.accounts.try_emplace(id).first;
    n.second.staged = &images_of;
    n.second.staged_seq = last_seq;
    staged_entries_.push_back(&n);  // an unordered_map's entries stay put
  }
}

std::vector<UnwrittenRows::Queued> UnwrittenRows::Settle(
    RedoImages& images, bool committed, const std::function<bool(std::string_view)>& written_back_now) {
  std::vector<Queued> to_queue;
  const bool staged = staged_from_ == &images;
  std::size_t i = 0;
  for (auto& [id, images_of] : images) {
    Shard& s = ShardOf(id);
    std::lock_guard lock(s.mu);
    if (committed) {
      // The entry Stage found for these very images, else by name.
      Node* found = staged && i < staged_entries_.size() ? staged_entries_[i++] : nullptr;
      Node& n = found && found->second.staged == &images_of ? *found : *s.accounts.try_emplace(id).first;
      Entry& e = n.second;
      e.staged = nullptr;     // before images_of is moved from
      if (e.generation == 0)  // never committed: nothing to merge into
        e.committed = std::move(images_of);
      else
        e.committed.Merge(images_of);
      ++e.generation;
      if (!e.queued && !(written_back_now && written_back_now(id))) {
        e.queued = true;
        to_queue.push_back(Queued(&n));
      }
      continue;
    }
    auto it = s.accounts.find(id);
    if (it == s.accounts.end()) continue;
    it->second.staged = nullptr;
    if (it->second.generation == 0) s.accounts.erase(it);  // staged only, never committed
  }
  staged_from_ = nullptr;
  staged_entries_.clear();
  return to_queue;
}

void UnwrittenRows::RetireOne(Node* node, std::chrono::steady_clock::time_point now, std::uint64_t write_back_seq) {
  // `queued` and `generation` are the sequencer's alone: no lock.
  node->second.queued = false;
  retired_.push_back(Retired{now, node, node->second.generation, write_back_seq});
}

void UnwrittenRows::Retire(const std::vector<Queued>& queued, const std::vector<std::string>& others,
                           std::chrono::steady_clock::time_point now, std::uint64_t write_back_seq) {
  // Still queued: Settle queued it and no Retire took it yet. A second
  // record of one generation would let the first forget the entry while
  // the second still points at it: a sweep run twice in one group is
  // retired once.
  for (const Queued& q : queued)
    if (q.node_->second.queued) RetireOne(q.node_, now, write_back_seq);
  for (const auto& id : others) {
    Shard& s = ShardOf(id);
    std::lock_guard lock(s.mu);
    if (auto it = s.accounts.find(id); it != s.accounts.end()) RetireOne(&*it, now, write_back_seq);
  }
}

void UnwrittenRows::EraseRetired(std::chrono::steady_clock::time_point now) {
  while (!retired_.empty() && now - retired_.front().at >= kRetireDelay) {
    const Retired& r = retired_.front();
    const Entry& e = r.node->second;
    // Committed again since it was written back: unwritten again. (Only
    // this thread writes `staged`, so it reads it without the lock; Settle
    // cleared it before any record is due.)
    if (e.generation == r.generation && !e.staged) {
      Shard& s = ShardOf(r.node->first);
      std::lock_guard lock(s.mu);
      // Moved before the erase, under the lock a reader that misses the
      // account takes first: it sees the write-back it needs.
      if (r.write_back_seq > erased_through_.load(std::memory_order_relaxed))
        erased_through_.store(r.write_back_seq, std::memory_order_release);
      if (auto it = s.accounts.find(r.node->first); it != s.accounts.end()) s.accounts.erase(it);
    }
    retired_.pop_front();
  }
}

std::size_t UnwrittenRows::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.accounts.size();
  }
  return n;
}

void AppendOwnImage(Bytes& record, std::string_view account_id, const UnwrittenAccount::Own& own) {
  record.push_back(kOwnRow);
  PutString(record, account_id);
  PutU64(record, own.nonce);
  PutU64(record, own.gas_spent);
}

void AppendBalanceImage(Bytes& record, std::string_view account_id, std::string_view asset,
                        const std::array<Amount, 3>& row) {
  record.push_back(kBalanceRow);
  PutString(record, account_id);
  PutString(record, asset);
  for (Amount v : row) PutU64(record, v);
}

Status DecodeRedo(ByteSpan record, RedoImages& out, const std::set<std::string>* only) {
  Reader r(record);
  while (!r.done()) {
    auto kind = r.Byte();
    auto id = r.String();
    if (!kind || !id || id->empty()) return Malformed();
    const bool keep = !only || only->contains(*id);
    if (*kind == kOwnRow) {
      auto nonce = r.U64();
      auto gas = r.U64();
      if (!nonce || !gas) return Malformed();
      if (keep) out[*id].own = UnwrittenAccount::Own{*nonce, *gas};
    } else if (*kind == kBalanceRow) {
      auto asset = r.String();
      auto a = r.U64(), s = r.U64(), l = r.U64();
      if (!asset || asset->empty() || !a || !s || !l) return Malformed();
      if (keep) out[*id].balances.insert_or_assign(*asset, std::array<Amount, 3>{*a, *s, *l});
    } else {
      return Malformed();
    }
  }
  return Ok();
}

Result<RedoImages> ReadRedo(store::Database& db, const std::set<std::string>* only) {
  RedoImages out;
  // A store from before schema core/006 (opened read-only, not migrated).
  auto exists = store::QueryInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='account_redo'");
  if (!exists.ok()) return std::move(exists).error();
  if (*exists == 0) return out;
  auto st = db.Prepare("SELECT rows FROM account_redo ORDER BY seq");
  if (!st.ok()) return std::move(st).error();
  KRAY_TRY(store::ForEachRow(*st, [&](const store::Statement& r) -> Status {
    Bytes record = r.Blob(0);
    return DecodeRedo(record, out, only);
  }));
  return out;
}

Status WriteBackImages(store::Database& db, const std::string& account_id, const UnwrittenAccount& images) {
  if (images.own) {
    auto st = db.Use("UPDATE account_rows SET nonce=?2, gas_spent=?3 WHERE account_id=?1 AND asset=''");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, account_id).Bind(2, static_cast<std::int64_t>(images.own->nonce));
    (*st)->Bind(3, static_cast<std::int64_t>(images.own->gas_spent));
    KRAY_TRY((*st)->Run());
  }
  for (const auto& [asset, row] : images.balances) {
    auto st = db.Use("UPDATE account_rows SET available=?3, staked=?4, locked=?5 WHERE account_id=?1 AND asset=?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, account_id).Bind(2, asset);
    for (int i = 0; i < 3; ++i) (*st)->Bind(3 + i, static_cast<std::int64_t>(row[i]));
    KRAY_TRY((*st)->Run());
  }
  return Ok();
}

Result<std::size_t> ApplyRedo(store::Database& db) {
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  auto images = ReadRedo(db);
  if (!images.ok()) return std::move(images).error();
  if (images->empty()) return std::size_t{0};
  // In key order: neighbouring rows share pages.
  std::map<std::string, const UnwrittenAccount*> sorted;
  for (const auto& [id, i] : *images) sorted.emplace(id, &i);
  for (const auto& [id, i] : sorted) KRAY_TRY(WriteBackImages(db, id, *i));
  KRAY_TRY(db.Exec("DELETE FROM account_redo"));
  KRAY_TRY(tx.Commit());
  return sorted.size();
}

RedoScope::RedoScope(const UnwrittenRows* rows) : rows_(rows), outer_(current_scope) {
  current_scope = this;
}
RedoScope::RedoScope(const RedoImages* images) : images_(images), outer_(current_scope) {
  current_scope = this;
}
RedoScope::~RedoScope() {
  current_scope = outer_;
}

Result<std::optional<UnwrittenAccount>> RedoScope::Find(const std::string& account_id, store::Database& snapshot) {
  const RedoScope* s = current_scope;
  if (!s) return std::optional<UnwrittenAccount>();
  if (s->rows_) return s->rows_->FindIn(account_id, snapshot);
  if (s->images_)
    if (auto it = s->images_->find(account_id); it != s->images_->end())
      return std::optional<UnwrittenAccount>(it->second);
  return std::optional<UnwrittenAccount>();
}

}  // namespace kray::state
