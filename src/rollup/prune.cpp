// Pruning the rollup index's history (see prune.h).
#include "prune.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace kray::rollup {

Status PrepareVersionIndexes(store::Database& db, bool pruning) {
  if (!pruning)
    return db.Exec(
        "DROP INDEX IF EXISTS rollup_smt_pages_by_version; DROP INDEX IF EXISTS rollup_leaf_data_by_version");
  auto st = db.Use("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'rollup_smt_pages_by_version'");
  if (!st.ok()) return std::move(st).error();
  auto found = store::FirstRow<std::int64_t>(**st, [](const store::Statement& s) { return s.Int64(0); });
  if (!found.ok()) return std::move(found).error();
  if (found->value_or(0) == 0) spdlog::info("rollup: indexing the tree's history by batch for pruning (once)");
  return db.Exec(
      "CREATE INDEX IF NOT EXISTS rollup_smt_pages_by_version ON rollup_smt_pages (version); "
      "CREATE INDEX IF NOT EXISTS rollup_leaf_data_by_version ON rollup_leaf_data (version)");
}

Status SetOldestProofBatch(store::Database& db, std::int64_t batch) {
  auto up = db.Use("UPDATE rollup_state SET oldest_proof_batch = ?1 WHERE id = 1");
  if (!up.ok()) return std::move(up).error();
  (*up)->Bind(1, batch);
  return (*up)->Run();
}

Status DeleteSupersededChunk(store::Database& db, std::int64_t version, std::size_t chunk, PruneCursor& cursor) {
  static constexpr const char* kKeysAt[PruneCursor::kTables] = {
      // An empty blob binds as NULL: coalesce makes the first chunk start at x''.
      "SELECT page FROM rollup_smt_pages WHERE version = ?1 AND page > coalesce(?2, x'') ORDER BY page LIMIT ?3",
      "SELECT key FROM rollup_leaf_data WHERE version = ?1 AND key > coalesce(?2, x'') ORDER BY key LIMIT ?3"};
  static constexpr const char* kDeleteOlder[PruneCursor::kTables] = {
      "DELETE FROM rollup_smt_pages WHERE page = ?1 AND version < ?2",
      "DELETE FROM rollup_leaf_data WHERE key = ?1 AND version < ?2"};
  if (cursor.done()) return Ok();
  chunk = std::max<std::size_t>(chunk, 1);
  std::vector<Bytes> keys;
  {
    auto st = db.Use(kKeysAt[cursor.table]);
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, version).BindBlob(2, cursor.after).Bind(3, static_cast<std::int64_t>(chunk));
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
      keys.push_back(r.Blob(0));
      return Ok();
    }));
  }
  store::Transaction tx(db);
  KRAY_TRY(tx.status());
  for (const Bytes& key : keys) {
    auto del = db.Use(kDeleteOlder[cursor.table]);
    if (!del.ok()) return std::move(del).error();
    (*del)->BindBlob(1, key).Bind(2, version);
    KRAY_TRY((*del)->Run());
  }
  KRAY_TRY(tx.Commit());
  if (keys.size() < chunk) {
    ++cursor.table;
    cursor.after.clear();
  } else {
    cursor.after = std::move(keys.back());
  }
  return Ok();
}

}  // namespace kray::rollup
