// Pruning the rollup index's history (see prune.h).
#include "prune.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace kray::rollup {

Status PrepareVersionIndexes(store::Database& db, bool pruning) {
  if (!pruning) return db.Exec("DROP INDEX IF EXISTS rollup_smt_pages_by_version");
  auto st = db.Use("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'rollup_smt_pages_by_version'");
  if (!st.ok()) return std::move(st).error();
  auto found = store::FirstRow<std::int64_t>(**st, [](const store::Statement& s) { return s.Int64(0); });
  if (!found.ok()) return std::move(found).error();
  if (found->value_or(0) == 0) spdlog::info("rollup: indexing the tree's history by batch for pruning (once)");
  // rollup_leaf_versions is keyed by version already.
  return db.Exec("CREATE INDEX IF NOT EXISTS rollup_smt_pages_by_version ON rollup_smt_pages (version)");
}

Status SetOldestProofBatch(store::Database& db, std::int64_t batch) {
  auto up = db.Use("UPDATE rollup_state SET oldest_proof_batch = ?1 WHERE id = 1");
  if (!up.ok()) return std::move(up).error();
  (*up)->Bind(1, batch);
  return (*up)->Run();
}

namespace {

// A page rewritten at the version: its older rows go.
Status DeleteOlderPageRows(store::Database& db, const Bytes& page, std::int64_t version) {
  auto del = db.Use("DELETE FROM rollup_smt_pages WHERE page = ?1 AND version < ?2");
  if (!del.ok()) return std::move(del).error();
  (*del)->BindBlob(1, page).Bind(2, version);
  return (*del)->Run();
}

// A leaf rewritten at the version: the rows it names before it go, back to
// the first already gone (leaf_rows.h). Pruning moves one version at a
// time, so that is usually the one row it names.
Status DeleteOlderLeafRows(store::Database& db, const Bytes& key, std::optional<std::int64_t> prev) {
  while (prev) {
    auto older = db.Use("SELECT prev FROM rollup_leaf_versions WHERE version = ?1 AND key = ?2");
    if (!older.ok()) return std::move(older).error();
    (*older)->Bind(1, *prev).BindBlob(2, key);
    auto next = store::FirstRow<std::optional<std::int64_t>>(**older, [](const store::Statement& r) {
      return r.IsNull(0) ? std::nullopt : std::optional<std::int64_t>(r.Int64(0));
    });
    if (!next.ok()) return std::move(next).error();
    if (!*next) return Ok();
    auto del = db.Use("DELETE FROM rollup_leaf_versions WHERE version = ?1 AND key = ?2");
    if (!del.ok()) return std::move(del).error();
    (*del)->Bind(1, *prev).BindBlob(2, key);
    KRAY_TRY((*del)->Run());
    prev = **next;
  }
  return Ok();
}

}  // namespace

Status DeleteSupersededChunk(store::Database& db, std::int64_t version, std::size_t chunk, PruneCursor& cursor) {
  static constexpr const char* kRowsAt[PruneCursor::kTables] = {
      // An empty blob binds as NULL: coalesce makes the first chunk start at x''.
      "SELECT page, NULL FROM rollup_smt_pages WHERE version = ?1 AND page > coalesce(?2, x'') ORDER BY page LIMIT ?3",
      "SELECT key, prev FROM rollup_leaf_versions WHERE version = ?1 AND key > coalesce(?2, x'') ORDER BY key "
      "LIMIT ?3"};
  if (cursor.done()) return Ok();
  chunk = std::max<std::size_t>(chunk, 1);
  std::vector<std::pair<Bytes, std::optional<std::int64_t>>> rows;
  {
    auto st = db.Use(kRowsAt[cursor.table]);
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, version).BindBlob(2, cursor.after).Bind(3, static_cast<std::int64_t>(chunk));
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
      rows.emplace_back(r.Blob(0), r.IsNull(1) ? std::nullopt : std::optional<std::int64_t>(r.Int64(1)));
      return Ok();
    }));
  }
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  for (const auto& [key, prev] : rows)
    KRAY_TRY(cursor.table == 0 ? DeleteOlderPageRows(db, key, version) : DeleteOlderLeafRows(db, key, prev));
  KRAY_TRY(tx.Commit());
  if (rows.size() < chunk) {
    ++cursor.table;
    cursor.after.clear();
  } else {
    cursor.after = std::move(rows.back().first);
  }
  return Ok();
}

}  // namespace kray::rollup
