// The leaves' preimages in the rollup index (see include/kray/rollup/leaf_rows.h).
#include "kray/rollup/leaf_rows.h"

#include <algorithm>
#include <string>
#include <utility>

#include "kray/store/database.h"

namespace kray::rollup {
namespace {

std::optional<Bytes> DataColumn(const store::Statement& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Blob(col);
}

std::optional<std::int64_t> PrevColumn(const store::Statement& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Int64(col);
}

// A head row's (version, data, prev) from column `first` on.
LeafRow HeadColumns(const store::Statement& r, int first) {
  return LeafRow{r.Int64(first), DataColumn(r, first + 1), PrevColumn(r, first + 2)};
}

Result<std::optional<LeafRow>> ReadHead(store::Database& db, const Hash256& key) {
  auto st = db.Use("SELECT version, data, prev FROM rollup_leaf_head WHERE key = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key);
  return store::FirstRow<LeafRow>(**st, [](const store::Statement& r) { return HeadColumns(r, 0); });
}

Status Put(store::Database& db, const char* sql, const Hash256& key, std::int64_t version,
           const std::optional<Bytes>& data, std::optional<std::int64_t> prev) {
  auto st = db.Use(sql);
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

}  // namespace

Status WriteLeafRow(store::Database& db, const Hash256& key, std::int64_t version, const std::optional<Bytes>& data) {
  auto head = ReadHead(db, key);
  if (!head.ok()) return std::move(head).error();
  std::optional<std::int64_t> prev;
  if (*head) {
    if ((*head)->version > version)
      return Error::Internal("rollup_leaf_head: key " + ToHex(key) + " has a row at version " +
                             std::to_string((*head)->version) + ", newer than " + std::to_string(version));
    prev = (*head)->version == version ? (*head)->prev : std::optional<std::int64_t>((*head)->version);
  }
  KRAY_TRY(Put(db, "INSERT OR REPLACE INTO rollup_leaf_versions (key, version, data, prev) VALUES (?1, ?2, ?3, ?4)",
               key, version, data, prev));
  return Put(db, "INSERT OR REPLACE INTO rollup_leaf_head (key, version, data, prev) VALUES (?1, ?2, ?3, ?4)", key,
             version, data, prev);
}

Result<std::vector<std::pair<Hash256, LeafRow>>> ReadHeadsIn(store::Database& db, ByteSpan low, ByteSpan below) {
  auto st = db.Use("SELECT key, version, data, prev FROM rollup_leaf_head WHERE key >= ?1 AND key < ?2 ORDER BY key");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, low).BindBlob(2, below);
  std::vector<std::pair<Hash256, LeafRow>> heads;
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    const Bytes key = r.Blob(0);
    if (key.size() != 32) return Error::Internal("rollup_leaf_head: malformed key");
    Hash256 k;
    std::copy(key.begin(), key.end(), k.begin());
    heads.emplace_back(k, HeadColumns(r, 1));
    return Ok();
  }));
  return heads;
}

Result<std::optional<Bytes>> LeafAtVersion(store::Database& db, const Hash256& key, LeafRow row, std::int64_t version) {
  while (row.version > version) {
    if (!row.prev) return std::optional<Bytes>();  // the key had no row yet
    if (*row.prev >= row.version)
      return Error::Internal("rollup_leaf_versions: key " + ToHex(key) + " at version " + std::to_string(row.version) +
                             " names a later one before it");
    auto st = db.Use("SELECT data, prev FROM rollup_leaf_versions WHERE version = ?1 AND key = ?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, *row.prev).BindBlob(2, key);
    const std::int64_t at = *row.prev;
    auto older = store::FirstRow<LeafRow>(**st, [at](const store::Statement& r) {
      return LeafRow{at, DataColumn(r, 0), PrevColumn(r, 1)};
    });
    if (!older.ok()) return std::move(older).error();
    if (!*older)
      return Error::Internal("rollup_leaf_versions: key " + ToHex(key) + " has no row at version " +
                             std::to_string(at) + ", which a newer one names");
    row = std::move(**older);
  }
  return std::move(row.data);
}

Result<std::optional<Bytes>> ReadLeafAt(store::Database& db, const Hash256& key, std::int64_t version) {
  auto head = ReadHead(db, key);
  if (!head.ok()) return std::move(head).error();
  if (!*head) return std::optional<Bytes>();
  return LeafAtVersion(db, key, std::move(**head), version);
}

}  // namespace kray::rollup
