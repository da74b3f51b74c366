// The page-cache wrapper (src/store/page_cache.h): it is installed, it skips
// the truncations that page splits made SQLite's default cache turn into a
// scan of its whole table, and it never skips one that has pages to drop.
#include "../../../src/store/page_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

namespace kray::store {
namespace {

using test::TempDir;

// A random-key index, as operations' hash index is: its page splits leave
// new pages out of order, which is what parks a page at the pending-byte
// number.
constexpr Migration kSchema[] = {{1, "001_t.sql",
                                  "CREATE TABLE t (k INTEGER PRIMARY KEY, h BLOB NOT NULL, v BLOB NOT NULL);"
                                  "CREATE UNIQUE INDEX t_h ON t (h);"}};

std::unique_ptr<Database> OpenT(const std::string& path) {
  OpenOptions o;
  o.batch_wal_writes = true;
  auto db = Database::Open(path, o);
  EXPECT_TRUE(db.ok()) << db.error().message;
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("t", kSchema).ok());
  return std::move(*db);
}

Bytes HashOf(std::uint64_t k) {
  std::mt19937_64 g(k * 0x9E3779B97F4A7C15ull + 1);
  Bytes h(32);
  for (auto& b : h) b = static_cast<std::uint8_t>(g());
  return h;
}

void Put(Database& db, std::int64_t k, std::size_t size) {
  auto st = db.Use("INSERT OR REPLACE INTO t (k, h, v) VALUES (?1, ?2, zeroblob(?3))");
  ASSERT_TRUE(st.ok());
  (*st)->Bind(1, k).BindBlob(2, HashOf(static_cast<std::uint64_t>(k)));
  (*st)->Bind(3, static_cast<std::int64_t>(size));
  ASSERT_TRUE((*st)->Run().ok());
}

void Remove(Database& db, std::int64_t k) {
  auto st = db.Use("DELETE FROM t WHERE k = ?1");
  ASSERT_TRUE(st.ok());
  (*st)->Bind(1, k);
  ASSERT_TRUE((*st)->Run().ok());
}

// The table's rows as k -> length(v), read through `db`.
std::map<std::int64_t, std::int64_t> Rows(Database& db) {
  std::map<std::int64_t, std::int64_t> out;
  auto st = db.Prepare("SELECT k, length(v), h FROM t ORDER BY k");
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return out;
  while (true) {
    auto r = st->Step();
    EXPECT_TRUE(r.ok());
    if (!r.ok() || !*r) break;
    EXPECT_EQ(st->Blob(2), HashOf(static_cast<std::uint64_t>(st->Int64(0))));
    out[st->Int64(0)] = st->Int64(1);
  }
  return out;
}

std::string IntegrityCheck(Database& db) {
  auto st = db.Prepare("PRAGMA integrity_check");
  if (!st.ok()) return st.error().message;
  auto r = st->Step();
  if (!r.ok() || !*r) return "no answer";
  return st->Text(0);
}

TEST(PageCache, IsInstalledBeforeSqliteStarts) {
  TempDir dir;
  auto db = OpenT(dir.file("a.sqlite"));
  ASSERT_TRUE(db);
  EXPECT_TRUE(InstallPageCache());
}

// Small commits into a random-key index, as the sequencer makes: without the
// wrapper SQLite's cache scans its table at most of them (skipped stays 0).
TEST(PageCache, CommitsAfterOutOfOrderSplitsSkipTheTruncation) {
  TempDir dir;
  auto db = OpenT(dir.file("a.sqlite"));
  ASSERT_TRUE(db);
  const PageCacheCounts before = PageCacheCountsNow();
  for (int group = 0; group < 300; ++group) {
    ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
    for (int i = 0; i < 20; ++i) Put(*db, group * 20 + i, 100);
    ASSERT_TRUE(db->Exec("COMMIT").ok());
  }
  const PageCacheCounts after = PageCacheCountsNow();
  EXPECT_GE(after.truncations - before.truncations, 300u);
  // Splits did park pages (what raises SQLite's cache's largest key)...
  EXPECT_GT(after.parked - before.parked, 10u);
  // ...and the commits after them had nothing to drop.
  EXPECT_GE(after.skipped - before.skipped, 250u);
  EXPECT_EQ(Rows(*db).size(), 6000u);
  EXPECT_EQ(IntegrityCheck(*db), "ok");
}

// Transactions that grow the file and roll back leave pages past the
// database's end in the cache; those truncations must reach SQLite's cache,
// or the next transaction would find the rolled-back pages. Checked against a
// model after every transaction, through the writer and a second connection,
// and after reopening.
TEST(PageCache, RollbacksAndDeletesAgreeWithAModel) {
  TempDir dir;
  const std::string path = dir.file("a.sqlite");
  std::map<std::int64_t, std::int64_t> model;
  std::mt19937 rng(7);
  {
    auto db = OpenT(path);
    auto reader = Database::Open(path, OpenOptions{});  // SQLite's own VFS: it never writes
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE(db);
    for (int txn = 0; txn < 200; ++txn) {
      std::map<std::int64_t, std::int64_t> next = model;
      ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
      const int ops = 1 + static_cast<int>(rng() % 60);
      for (int i = 0; i < ops; ++i) {
        const std::int64_t k = rng() % 5000;
        if (rng() % 4 == 0) {
          Remove(*db, k);
          next.erase(k);
        } else {
          const std::size_t size = rng() % 3 == 0 ? 3000 + rng() % 6000 : rng() % 200;  // some overflow pages
          Put(*db, k, size);
          next[k] = static_cast<std::int64_t>(size);
        }
      }
      if (rng() % 3 == 0) {
        ASSERT_TRUE(db->Exec("ROLLBACK").ok());
      } else {
        ASSERT_TRUE(db->Exec("COMMIT").ok());
        model = std::move(next);
      }
      // The reader's cache is truncated (xTruncate(1)) whenever the writer
      // committed since its last read: a wrongly skipped truncation shows
      // there.
      ASSERT_EQ(Rows(*db), model) << "writer, after transaction " << txn;
      ASSERT_EQ(Rows(**reader), model) << "reader, after transaction " << txn;
    }
    EXPECT_EQ(IntegrityCheck(*db), "ok");
  }
  auto again = OpenT(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(Rows(*again), model);
  EXPECT_EQ(IntegrityCheck(*again), "ok");
}

}  // namespace
}  // namespace kray::store
