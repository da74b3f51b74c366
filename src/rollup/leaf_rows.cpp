// The leaves' preimages in the rollup index (see include/kray/rollup/leaf_rows.h).
#include "kray/rollup/leaf_rows.h"

#include <algorithm>
#include <string>
#include <utility>

#include "kray/store/database.h"

namespace kray::rollup {
namespace {

// Past this many versions between the fold position and the newest row the
// index is taken for edited rather than read one version at a time.
constexpr std::int64_t kMaxUnfoldedVersions = 64 * kFoldHeadsEvery;

struct LeafRow {
  std::int64_t version = 0;
  std::optional<Bytes> data;  // nullopt: no leaf
  std::optional<std::int64_t> prev;
};

std::optional<Bytes> DataColumn(const store::Statement& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Blob(col);
}

std::optional<std::int64_t> PrevColumn(const store::Statement& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Int64(col);
}

Result<Hash256> KeyColumn(const store::Statement& s, int col, const char* table) {
  const Bytes key = s.Blob(col);
  if (key.size() != 32) return Error::Internal(std::string(table) + ": malformed key");
  Hash256 k;
  std::copy(key.begin(), key.end(), k.begin());
  return k;
}

// The version of the key's newest row at or below the fold position, if it has one.
Result<std::optional<std::int64_t>> ReadHead(store::Database& db, const Hash256& key) {
  auto st = db.Use("SELECT version FROM rollup_leaf_head WHERE key = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key);
  return store::FirstRow<std::int64_t>(**st, [](const store::Statement& r) { return r.Int64(0); });
}

// The key's row at exactly `version`, if there is one.
Result<std::optional<LeafRow>> FindRow(store::Database& db, const Hash256& key, std::int64_t version) {
  auto st = db.Use("SELECT data, prev FROM rollup_leaf_versions WHERE version = ?1 AND key = ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, version).BindBlob(2, key);
  return store::FirstRow<LeafRow>(**st, [version](const store::Statement& r) {
    return LeafRow{version, DataColumn(r, 0), PrevColumn(r, 1)};
  });
}

// The key's row at exactly `version`; an error naming `named_by` if none.
Result<LeafRow> ReadRow(store::Database& db, const Hash256& key, std::int64_t version, const char* named_by) {
  auto row = FindRow(db, key, version);
  if (!row.ok()) return std::move(row).error();
  if (!*row)
    return Error::Internal("rollup_leaf_versions: key " + ToHex(key) + " has no row at version " +
                           std::to_string(version) + ", which " + named_by + " names");
  return std::move(**row);
}

Status PutRow(store::Database& db, const Hash256& key, std::int64_t version, const std::optional<Bytes>& data,
              std::optional<std::int64_t> prev) {
  auto st = db.Use("INSERT OR REPLACE INTO rollup_leaf_versions (key, version, data, prev) VALUES (?1, ?2, ?3, ?4)");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key).Bind(2, version);
  if (data)
    (*st)->BindBlob(3, *data);
  else
    (*st)->BindNull(3);
  if (prev)
    (*st)->Bind(4, *prev);
  else
    (*st)->BindNull(4);
  return (*st)->Run();
}

Status PutHead(store::Database& db, const Hash256& key, std::int64_t version) {
  auto st = db.Use("INSERT OR REPLACE INTO rollup_leaf_head (key, version) VALUES (?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key).Bind(2, version);
  return (*st)->Run();
}

Result<std::int64_t> ReadHeadsThrough(store::Database& db) {
  return store::QueryInt(db, "SELECT heads_through FROM rollup_state WHERE id = 1", -1);
}

// The versions above the fold position that a read as of `version` looks
// in, newest first: (heads_through, min(version, newest row)].
struct UnfoldedRange {
  std::int64_t through = -1;
  std::int64_t top = -1;
};

Result<UnfoldedRange> UnfoldedVersions(store::Database& db, std::int64_t version) {
  auto through = ReadHeadsThrough(db);
  if (!through.ok()) return std::move(through).error();
  auto newest = store::QueryInt(db, "SELECT max(version) FROM rollup_leaf_versions", -1);
  if (!newest.ok()) return std::move(newest).error();
  const std::int64_t top = std::min(version, *newest);
  if (top - *through > kMaxUnfoldedVersions)
    return Error::Internal("rollup_state: heads_through " + std::to_string(*through) + " is " +
                           std::to_string(top - *through) + " versions behind the leaves' rows");
  return UnfoldedRange{*through, top};
}

// Walks the key's rows back from its row at `newest` to the newest one <= version.
Result<std::optional<Bytes>> LeafAtVersion(store::Database& db, const Hash256& key, std::int64_t newest,
                                           std::int64_t version) {
  auto row = ReadRow(db, key, newest, "its head");
  while (row.ok() && row->version > version) {
    if (!row->prev) return std::optional<Bytes>();  // the key had no row yet
    if (*row->prev >= row->version)
      return Error::Internal("rollup_leaf_versions: key " + ToHex(key) + " at version " + std::to_string(row->version) +
                             " names a later one before it");
    row = ReadRow(db, key, *row->prev, "a newer one");
  }
  if (!row.ok()) return std::move(row).error();
  return std::move(row->data);
}

// The first two bytes of a key: its bucket in HeadIndex's index.
std::size_t KeyPrefix(const Hash256& key) {
  return (std::size_t{key[0]} << 8) | key[1];
}

}  // namespace

std::optional<std::int64_t> LeafHeads::HeadIndex::Find(const Hash256& key) const {
  if (!unindexed_.empty()) {
    if (auto it = unindexed_.find(key); it != unindexed_.end()) return it->second;
  }
  if (auto at = PositionOf(key)) return versions_[*at];
  return std::nullopt;
}

std::optional<std::size_t> LeafHeads::HeadIndex::PositionOf(const Hash256& key) const {
  const std::size_t prefix = KeyPrefix(key);
  const auto end = keys_.begin() + first_[prefix + 1];
  const auto it = std::lower_bound(keys_.begin() + first_[prefix], end, key);
  if (it == end || *it != key) return std::nullopt;
  return static_cast<std::size_t>(it - keys_.begin());
}

void LeafHeads::HeadIndex::Append(const Hash256& key, std::int64_t version) {
  keys_.push_back(key);
  versions_.push_back(version);
}

void LeafHeads::HeadIndex::Reindex() {
  std::size_t i = 0;
  for (std::size_t prefix = 0; prefix < first_.size(); ++prefix) {
    while (i < keys_.size() && KeyPrefix(keys_[i]) < prefix) ++i;
    first_[prefix] = static_cast<std::uint32_t>(i);
  }
}

void LeafHeads::HeadIndex::Merge(const std::map<Hash256, std::int64_t>& heads) {
  MergeSorted(std::exchange(unindexed_, {}));
  MergeSorted(heads);
}

void LeafHeads::HeadIndex::MergeSorted(const std::map<Hash256, std::int64_t>& heads) {
  // One walk of both (each in key order): the keys held get their new
  // version in place; the others are inserted in a second walk.
  std::size_t added = 0, i = 0;
  for (const auto& [key, version] : heads) {
    while (i < keys_.size() && keys_[i] < key) ++i;
    if (i < keys_.size() && keys_[i] == key)
      versions_[i] = version;
    else
      ++added;
  }
  if (added == 0) return;
  std::vector<Hash256> keys;
  std::vector<std::int64_t> versions;
  keys.reserve(keys_.size() + added);
  versions.reserve(keys_.size() + added);
  i = 0;
  for (const auto& [key, version] : heads) {
    for (; i < keys_.size() && keys_[i] < key; ++i) {
      keys.push_back(keys_[i]);
      versions.push_back(versions_[i]);
    }
    if (i < keys_.size() && keys_[i] == key) continue;  // updated above, copied with the rest
    keys.push_back(key);
    versions.push_back(version);
  }
  for (; i < keys_.size(); ++i) {
    keys.push_back(keys_[i]);
    versions.push_back(versions_[i]);
  }
  keys_ = std::move(keys);
  versions_ = std::move(versions);
  Reindex();
}

void LeafHeads::HeadIndex::Set(const Hash256& key, std::int64_t version) {
  if (auto at = PositionOf(key)) {
    versions_[*at] = version;
    return;
  }
  unindexed_.insert_or_assign(key, version);
  // Merged once they are a fair share of the index: the genesis version
  // writes every leaf's head here, one at a time.
  if (unindexed_.size() > 4096 + keys_.size() / 8) MergeSorted(std::exchange(unindexed_, {}));
}

Result<LeafHeads> LeafHeads::Load(store::Database& db) {
  LeafHeads heads;
  auto through = ReadHeadsThrough(db);
  if (!through.ok()) return std::move(through).error();
  heads.through_ = *through;
  auto all = db.Use("SELECT key, version FROM rollup_leaf_head ORDER BY key");
  if (!all.ok()) return std::move(all).error();
  std::optional<Hash256> last;
  KRAY_TRY(store::ForEachRow(**all, [&](const store::Statement& r) -> Status {
    auto key = KeyColumn(r, 0, "rollup_leaf_head");
    if (!key.ok()) return std::move(key).error();
    if (last && !(*last < *key)) return Error::Internal("rollup_leaf_head: keys out of order");
    heads.folded_.Append(*key, r.Int64(1));
    last = *key;
    return Ok();
  }));
  heads.folded_.Reindex();
  // A fold covers closed batches only: a position past the open batch is an
  // edit, which would make the writer take stale heads for current ones.
  auto open = store::QueryInt(db, "SELECT open_batch FROM rollup_state WHERE id = 1", -1);
  if (!open.ok()) return std::move(open).error();
  if (heads.through_ > *open && *open >= 0)
    return Error::Internal("rollup_state: heads_through " + std::to_string(heads.through_) +
                           " is past the open batch " + std::to_string(*open));
  // And one far behind the rows would have every row since read into memory.
  auto unfolded = UnfoldedVersions(db, *open);
  if (!unfolded.ok()) return std::move(unfolded).error();
  auto st = db.Use("SELECT key, version FROM rollup_leaf_versions WHERE version > ?1 ORDER BY version");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, heads.through_);
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    auto key = KeyColumn(r, 0, "rollup_leaf_versions");
    if (!key.ok()) return std::move(key).error();
    const std::int64_t version = r.Int64(1);
    heads.newest_[*key] = version;
    if (version == *open) heads.CountNewRow(version);
    return Ok();
  }));
  return heads;
}

void LeafHeads::CountNewRow(std::int64_t version) {
  if (version != counted_version_) {
    counted_version_ = version;
    counted_keys_ = 0;
  }
  ++counted_keys_;
}

Status LeafHeads::Write(store::Database& db, const Hash256& key, std::int64_t version,
                        const std::optional<Bytes>& data) {
  std::optional<std::int64_t> newest;
  if (auto it = newest_.find(key); it != newest_.end()) {
    newest = it->second;
  } else {
    newest = folded_.Find(key);
  }
  std::optional<std::int64_t> prev;
  if (newest) {
    if (*newest > version)
      return Error::Internal("rollup_leaf_head: key " + ToHex(key) + " has a row at version " +
                             std::to_string(*newest) + ", newer than " + std::to_string(version));
    if (*newest == version) {
      // Rewriting the version keeps the row's own predecessor.
      auto row = ReadRow(db, key, version, "its head");
      if (!row.ok()) return std::move(row).error();
      prev = row->prev;
    } else {
      prev = newest;
    }
  }
  KRAY_TRY(PutRow(db, key, version, data, prev));
  if (newest != version) CountNewRow(version);
  if (version > through_) {
    newest_[key] = version;
    return Ok();
  }
  // The head changes only with the version (a key rewritten within one is
  // not written again).
  if (newest == version) return Ok();
  KRAY_TRY(PutHead(db, key, version));
  folded_.Set(key, version);
  return Ok();
}

Status LeafHeads::Fold(store::Database& db, std::int64_t through) const {
  for (const auto& [key, version] : newest_) {
    if (version > through)
      return Error::Internal("rollup: folding the heads through version " + std::to_string(through) + " but key " +
                             ToHex(key) + " has a row at version " + std::to_string(version));
    KRAY_TRY(PutHead(db, key, version));
  }
  auto st = db.Use("UPDATE rollup_state SET heads_through = ?1 WHERE id = 1");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, through);
  KRAY_TRY((*st)->Run());
  if (db.Changes() != 1) return Error::Internal("rollup: folding the heads with no rollup_state row");
  return Ok();
}

void LeafHeads::Folded(std::int64_t through) {
  folded_.Merge(newest_);
  newest_.clear();
  through_ = through;
}

Result<std::optional<Bytes>> ReadLeafAt(store::Database& db, const Hash256& key, std::int64_t version) {
  auto unfolded = UnfoldedVersions(db, version);
  if (!unfolded.ok()) return std::move(unfolded).error();
  for (std::int64_t v = unfolded->top; v > unfolded->through; --v) {
    auto row = FindRow(db, key, v);
    if (!row.ok()) return std::move(row).error();
    if (*row) return std::move((*row)->data);
  }
  auto head = ReadHead(db, key);
  if (!head.ok()) return std::move(head).error();
  if (!*head) return std::optional<Bytes>();
  return LeafAtVersion(db, key, **head, version);
}

Result<std::vector<std::pair<Hash256, Bytes>>> ReadLeavesIn(store::Database& db, ByteSpan low, ByteSpan below,
                                                            std::int64_t version) {
  auto unfolded = UnfoldedVersions(db, version);
  if (!unfolded.ok()) return std::move(unfolded).error();
  std::map<Hash256, std::optional<Bytes>> found;  // each key's data as of `version`
  // Above the fold position: each key's newest row <= version (versions newest first).
  auto rows = db.Use("SELECT key, data FROM rollup_leaf_versions WHERE version = ?1 AND key >= ?2 AND key < ?3");
  if (!rows.ok()) return std::move(rows).error();
  for (std::int64_t v = unfolded->top; v > unfolded->through; --v) {
    (*rows)->Bind(1, v).BindBlob(2, low).BindBlob(3, below);
    KRAY_TRY(store::ForEachRow(**rows, [&](const store::Statement& r) -> Status {
      auto key = KeyColumn(r, 0, "rollup_leaf_versions");
      if (!key.ok()) return std::move(key).error();
      found.emplace(*key, DataColumn(r, 1));
      return Ok();
    }));
  }
  // The other keys: walked back from their heads.
  auto heads = db.Use("SELECT key, version FROM rollup_leaf_head WHERE key >= ?1 AND key < ?2 ORDER BY key");
  if (!heads.ok()) return std::move(heads).error();
  (*heads)->BindBlob(1, low).BindBlob(2, below);
  std::vector<std::pair<Hash256, std::int64_t>> walks;
  KRAY_TRY(store::ForEachRow(**heads, [&](const store::Statement& r) -> Status {
    auto key = KeyColumn(r, 0, "rollup_leaf_head");
    if (!key.ok()) return std::move(key).error();
    if (!found.count(*key)) walks.emplace_back(*key, r.Int64(1));
    return Ok();
  }));
  for (const auto& [key, newest] : walks) {
    auto data = LeafAtVersion(db, key, newest, version);
    if (!data.ok()) return std::move(data).error();
    found.emplace(key, std::move(*data));
  }
  std::vector<std::pair<Hash256, Bytes>> leaves;
  for (auto& [key, data] : found)
    if (data) leaves.emplace_back(key, std::move(*data));
  return leaves;
}

}  // namespace kray::rollup
