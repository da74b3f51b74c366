// The points of bound keys (see key_points.h).
#include "key_points.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "kray/core/bytes.h"
#include "kray/store/database.h"

namespace kray::state {

std::vector<std::optional<crypto::FieldBytes>> LiftKeys(std::span<const crypto::XOnlyPubKey> keys) {
  std::vector<std::optional<crypto::FieldBytes>> ys(keys.size());
  const std::size_t threads =
      keys.size() < 4096 ? 1 : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 16);
  auto lift = [&](std::size_t from) {
    for (std::size_t i = from; i < keys.size(); i += threads) ys[i] = crypto::EvenY(keys[i]);
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(lift, t);
  lift(0);
  for (auto& t : pool) t.join();
  return ys;
}

Status WriteKeyPoint(store::Database& db, const std::string& id, const crypto::FieldBytes& y) {
  auto st = db.Use("INSERT OR REPLACE INTO key_points (account_id, y) VALUES (?1, ?2)");
  if (!st.ok()) return std::move(st).error();
  (*st)->Bind(1, id).BindBlob(2, ByteSpan(y.data(), y.size()));
  return (*st)->Run();
}

Status FillKeyPoints(store::Database& db) {
  auto pending =
      store::QueryInt(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type='table' AND name='key_points_fill'");
  if (!pending.ok()) return std::move(pending).error();
  if (*pending == 0) return Ok();
  constexpr int kChunk = 4096;
  const auto t0 = std::chrono::steady_clock::now();
  std::string after;  // account_id of the last key read ("" sorts first)
  std::size_t filled = 0;
  for (;;) {
    std::vector<std::string> ids;
    std::vector<crypto::XOnlyPubKey> keys;
    auto st = db.Use(
        "SELECT a.account_id, a.pubkey FROM accounts a LEFT JOIN key_points p ON p.account_id = a.account_id "
        "WHERE a.account_id > ?1 AND a.pubkey IS NOT NULL AND p.y IS NULL ORDER BY a.account_id LIMIT ?2");
    if (!st.ok()) return std::move(st).error();
    (*st)->Bind(1, after).Bind(2, static_cast<std::int64_t>(kChunk));
    int rows = 0;
    KRAY_TRY(store::ForEachRow(**st, [&](const store::Statement& r) -> Status {
      ++rows;
      after = r.Text(0);
      // A key that is not hex is left to the reads that report it.
      if (auto key = FromHexFixed<32>(r.Text(1))) {
        ids.push_back(after);
        keys.push_back(*key);
      }
      return Ok();
    }));
    const auto ys = LiftKeys(keys);
    store::Transaction tx(db);
    KRAY_TRY(tx.status());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!ys[i]) continue;
      KRAY_TRY(WriteKeyPoint(db, ids[i], *ys[i]));
      ++filled;
    }
    if (rows < kChunk) KRAY_TRY(db.Exec("DROP TABLE key_points_fill"));
    KRAY_TRY(tx.Commit());
    if (rows < kChunk) break;
  }
  if (filled > 0)
    spdlog::info("key points: stored the points of {} keys bound before schema core/004 in {:.1f} s", filled,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return Ok();
}

}  // namespace kray::state
