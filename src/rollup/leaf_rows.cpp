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

// The version of the key's newest row, if it has one.
Result<std::optional<std::int64_t>> ReadHead(store::Database& db, const Hash256& key) {
  auto st = db.Use("SELECT version FROM rollup_leaf_head WHERE key = ?1");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, key);
  return store::FirstRow<std::int64_t>(**st, [](const store::Statement& r) { return r.Int64(0); });
}

// The key's row at exactly `version`; an error naming `named_by` if none.
Result<LeafRow> ReadRow(store::Database& db, const Hash256& key, std::int64_t version, const char* named_by) {
  auto st = db.Use("SELECT data, prev FROM rollup_leaf_versions WHERE version = ?1 AND key = ?2");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, version).BindBlob(2, key);
  auto row = store::FirstRow<LeafRow>(**st, [version](const store::Statement& r) {
    return LeafRow{version, DataColumn(r, 0), PrevColumn(r, 1)};
  });
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

}  // namespace

Status WriteLeafRow(store::Database& db, const Hash256& key, std::int64_t version, const std::optional<Bytes>& data) {
  auto head = ReadHead(db, key);
  if (!head.ok()) return std::move(head).error();
  std::optional<std::int64_t> prev;
  if (*head) {
    const std::int64_t newest = **head;
    if (newest > version)
      return Error::Internal("rollup_leaf_head: key " + ToHex(key) + " has a row at version " + std::to_string(newest) +
                             ", newer than " + std::to_string(version));
    if (newest == version) {
      // Rewriting the version keeps the row's own predecessor.
      auto row = ReadRow(db, key, version, "its head");
      if (!row.ok()) return std::move(row).error();
      prev = row->prev;
    } else {
      prev = newest;
    }
  }
  KRAY_TRY(PutRow(db, key, version, data, prev));
  // The head changes only with the version (a key rewritten within one is
  // not written again).
  return *head == version ? Ok() : PutHead(db, key, version);
}

Result<std::vector<std::pair<Hash256, std::int64_t>>> ReadHeadsIn(store::Database& db, ByteSpan low, ByteSpan below) {
  auto st = db.Use("SELECT key, version FROM rollup_leaf_head WHERE key >= ?1 AND key < ?2 ORDER BY key");
  if (!st.ok()) return std::move(st).error();
  (*st)->BindBlob(1, low).BindBlob(2, below);
  std::vector<std::pair<Hash256, std::int64_t>> heads;
  KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
    const Bytes key = r.Blob(0);
    if (key.size() != 32) return Error::Internal("rollup_leaf_head: malformed key");
    Hash256 k;
    std::copy(key.begin(), key.end(), k.begin());
    heads.emplace_back(k, r.Int64(1));
    return Ok();
  }));
  return heads;
}

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

Result<std::optional<Bytes>> ReadLeafAt(store::Database& db, const Hash256& key, std::int64_t version) {
  auto head = ReadHead(db, key);
  if (!head.ok()) return std::move(head).error();
  if (!*head) return std::optional<Bytes>();
  return LeafAtVersion(db, key, **head, version);
}

}  // namespace kray::rollup
