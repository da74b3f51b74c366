#include "kray/store/database.h"
#include "kray/testsupport/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kray::store {
namespace {

using test::TempDir;

std::int64_t QueryInt(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok());
  auto r = st->Step();
  EXPECT_TRUE(r.ok() && *r);
  return st->Int64(0);
}

TEST(Migrations, ApplyOnOpenAndSetUserVersion) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_GE(StoreVersion(), 1);
  EXPECT_EQ((*db)->UserVersion().value(), StoreVersion());
  EXPECT_EQ(QueryInt(**db,
                     "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN "
                     "('accounts','balances','transactions','supply','meta')"),
            5);
  auto st = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->Step().value());
  EXPECT_EQ(st->Text(0), "wal");
  EXPECT_EQ(QueryInt(**db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(QueryInt(**db, "PRAGMA synchronous"), 2);  // FULL
}

TEST(Migrations, SynchronousIsConfigurable) {
  TempDir dir;
  OpenOptions o;
  o.synchronous = ParseSynchronous("normal").value();
  auto db = Database::Open(dir.file("a.sqlite"), o);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(QueryInt(**db, "PRAGMA synchronous"), 1);
  EXPECT_FALSE(ParseSynchronous("fast").ok());
}

TEST(Migrations, AreIdempotent) {
  TempDir dir;
  {
    auto db = Database::Open(dir.file("a.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('k', 'v')").ok());
  }
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Migrate().ok());
  EXPECT_EQ((*db)->UserVersion().value(), StoreVersion());
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM meta WHERE key='k'"), 1);  // data kept, nothing re-run
}

TEST(Migrations, NewerStoreIsRefused) {
  TempDir dir;
  {
    auto db = Database::Open(dir.file("a.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version=" + std::to_string(StoreVersion() + 7)).ok());
  }
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "store_too_new");
  EXPECT_NE(db.error().message.find("datadir was created by a newer krayd (store version " +
                                    std::to_string(StoreVersion() + 7) + ", this binary supports " +
                                    std::to_string(StoreVersion()) + ")"),
            std::string::npos)
      << db.error().message;
}

TEST(Transaction, RollsBackOnDestruction) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok());
  {
    Transaction tx(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('x', '1')").ok());
  }
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM meta"), 0);
  {
    Transaction tx(**db);
    ASSERT_TRUE((*db)->Exec("INSERT INTO meta (key, value) VALUES ('y', '1')").ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM meta"), 1);
  EXPECT_FALSE((*db)->InTransaction());
}

TEST(Statement, BindsAndReadsEveryType) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)").ok());
  auto ins = (*db)->Prepare("INSERT INTO t VALUES (?,?,?,?)");
  ASSERT_TRUE(ins.ok());
  Bytes blob = {0, 1, 2, 255};
  ins->Bind(1, std::int64_t{-5}).Bind(2, std::string_view("h\0i", 3)).BindBlob(3, blob).BindNull(4);
  ASSERT_TRUE(ins->Run().ok());
  auto sel = (*db)->Cached("SELECT i, s, b, n FROM t");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE((*sel)->Step().value());
  EXPECT_EQ((*sel)->Int64(0), -5);
  EXPECT_EQ((*sel)->Text(1), std::string("h\0i", 3));
  EXPECT_EQ((*sel)->Blob(2), blob);
  EXPECT_TRUE((*sel)->IsNull(3));
  EXPECT_FALSE((*sel)->Step().value());
  // Constraint errors surface as a conflict, not a crash.
  ASSERT_TRUE((*db)->Exec("CREATE TABLE u (k INTEGER PRIMARY KEY, v INTEGER CHECK (v >= 0))").ok());
  auto bad = (*db)->Prepare("INSERT INTO u VALUES (1, -1)");
  ASSERT_TRUE(bad.ok());
  Status s = bad->Run();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "constraint_violation");
  EXPECT_FALSE((*db)->Prepare("SELEC nonsense").ok());
}

}  // namespace
}  // namespace kray::store
