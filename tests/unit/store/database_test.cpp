#include "kray/store/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "kray/testsupport/temp_dir.h"

namespace kray::store {
namespace {

using test::TempDir;

std::int64_t Int(Database& db, const std::string& sql) {
  auto v = QueryInt(db, sql, -1);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : -1;
}

constexpr Migration kV1[] = {{1, "001_t.sql", "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER CHECK (v >= 0));"}};
constexpr Migration kV2[] = {{1, "001_t.sql", "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER CHECK (v >= 0));"},
                             {2, "002_u.sql", "CREATE TABLE u (x INTEGER);"}};

TEST(Store, OpenStampsFormatAndPragmas) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ(Int(**db, "PRAGMA user_version"), kStoreFormat);
  auto st = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->Step().value());
  EXPECT_EQ(st->Text(0), "wal");
  EXPECT_EQ(Int(**db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(Int(**db, "PRAGMA synchronous"), 2);  // FULL
}

TEST(Store, SynchronousIsConfigurable) {
  TempDir dir;
  OpenOptions o;
  o.synchronous = ParseSynchronous("normal").value();
  auto db = Database::Open(dir.file("a.sqlite"), o);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(Int(**db, "PRAGMA synchronous"), 1);
  EXPECT_FALSE(ParseSynchronous("fast").ok());
}

TEST(Store, ComponentMigrationsApplyInOrderOnceAndIndependently) {
  TempDir dir;
  {
    auto db = Database::Open(dir.file("a.sqlite"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('a', 1)").ok());
    EXPECT_EQ((*db)->ComponentVersion("alpha").value(), 1);
    EXPECT_EQ((*db)->ComponentVersion("beta").value(), 0);
  }
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Migrate("alpha", kV2).ok());  // only 002 runs
  EXPECT_EQ((*db)->ComponentVersion("alpha").value(), 2);
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM t"), 1);  // data kept, 001 not re-run
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM sqlite_master WHERE name='u'"), 1);
  ASSERT_TRUE((*db)->Migrate("alpha", kV2).ok());  // idempotent
  // A binary that knows fewer migrations than the file has refuses it.
  Status older = (*db)->Migrate("alpha", kV1);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, "store_too_new");
}

TEST(Store, NewerAndOlderFormatsAreRefused) {
  TempDir dir;
  for (int version : {kStoreFormat + 7, 2, 1}) {
    std::string file = dir.file("f" + std::to_string(version) + ".sqlite");
    {
      auto db = Database::Open(file);
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE((*db)->Exec("PRAGMA user_version=" + std::to_string(version)).ok());
    }
    auto db = Database::Open(file);
    ASSERT_FALSE(db.ok()) << version;
    EXPECT_EQ(db.error().code, version > kStoreFormat ? "store_too_new" : "store_incompatible");
  }
}

TEST(Store, TransactionRollsBackOnDestruction) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
  {
    Transaction tx(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('x', 1)").ok());
  }
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM t"), 0);
  {
    Transaction tx(**db);
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('y', 1)").ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM t"), 1);
  EXPECT_FALSE((*db)->InTransaction());
}

TEST(Store, SavepointKeepsOrDropsItsPart) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
  Transaction tx(**db);
  {
    Savepoint sp(**db, "unit");
    ASSERT_TRUE(sp.status().ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('dropped', 1)").ok());
  }  // destroyed without Release: rolled back
  {
    Savepoint sp(**db, "unit");
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('kept', 1)").ok());
    ASSERT_TRUE(sp.Release().ok());
  }
  ASSERT_TRUE(tx.Commit().ok());
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM t WHERE k='kept'"), 1);
  EXPECT_EQ(Int(**db, "SELECT COUNT(*) FROM t WHERE k='dropped'"), 0);
}

TEST(Store, StatementHandlesResetAtEndOfScope) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
  ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES ('a', 1), ('b', 2)").ok());
  {
    auto st = (*db)->Use("SELECT k FROM t ORDER BY k");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->Step().value());  // a read left mid-way...
  }
  // ...is reset by the handle, so it holds no read snapshot: a writer on
  // another connection can checkpoint and this connection sees new rows.
  auto other = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Exec("INSERT INTO t (k, v) VALUES ('c', 3)").ok());
  auto st = (*db)->Use("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(st.ok());
  auto rows = CollectRows<std::string>(**st, [](const Statement& s) { return s.Text(0); });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (std::vector<std::string>{"a", "b", "c"}));
}

// Use() finds a cached statement by its text, whether given as a literal,
// a std::string or a view into a larger buffer; each text prepares once.
TEST(Store, UseFindsOneStatementPerTextHoweverTheTextIsGiven) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
  const auto at = [&](auto sql) {
    auto st = (*db)->Use(sql);
    EXPECT_TRUE(st.ok());
    return st.ok() ? &**st : nullptr;
  };
  Statement* by_literal = at("SELECT k FROM t WHERE v > ?1 ORDER BY k");
  ASSERT_NE(by_literal, nullptr);
  EXPECT_EQ(at(std::string("SELECT k FROM t WHERE v > ?1 ORDER BY k")), by_literal);
  const std::string buffer = "xxSELECT k FROM t WHERE v > ?1 ORDER BY kyy";
  EXPECT_EQ(at(std::string_view(buffer).substr(2, buffer.size() - 4)), by_literal);
  Statement* other = at("SELECT k FROM t WHERE v > ?1 ORDER BY k DESC");
  EXPECT_NE(other, by_literal);
  EXPECT_EQ(at(std::string_view("SELECT k FROM t WHERE v > ?1 ORDER BY k DESC")), other);
  EXPECT_FALSE((*db)->Use(std::string_view("SELECT nothing FROM nowhere")).ok());
  EXPECT_TRUE((*db)->ExecCached(std::string_view("SELECT 1")).ok());
}

// The first Open turns SQLite's memory statistics off: kept, they take one
// process-wide mutex around every sqlite3_malloc and sqlite3_free, on every
// thread that uses SQLite. With them off the counters stay at zero.
TEST(Store, SqliteKeepsNoMemoryStatistics) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.sqlite"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Migrate("alpha", kV1).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        (*db)->Exec("INSERT INTO t (k, v) VALUES ('k" + std::to_string(i) + "', " + std::to_string(i) + ")").ok());
  }
  EXPECT_EQ(Int(**db, "SELECT SUM(v) FROM t"), 4950);
  EXPECT_EQ(sqlite3_memory_used(), 0);
  sqlite3_int64 count = -1, highest = -1;
  ASSERT_EQ(sqlite3_status64(SQLITE_STATUS_MALLOC_COUNT, &count, &highest, 0), SQLITE_OK);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(highest, 0);
}

TEST(Store, BindsAndReadsEveryType) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)").ok());
  auto ins = (*db)->Prepare("INSERT INTO t VALUES (?,?,?,?)");
  ASSERT_TRUE(ins.ok());
  Bytes blob = {0, 1, 2, 255};
  ins->Bind(1, std::int64_t{-5}).Bind(2, std::string_view("h\0i", 3)).BindBlob(3, blob).BindTextOrNull(4, "");
  ASSERT_TRUE(ins->Run().ok());
  auto sel = (*db)->Use("SELECT i, s, b, n FROM t");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE((*sel)->Step().value());
  EXPECT_EQ((*sel)->Int64(0), -5);
  EXPECT_EQ((*sel)->Text(1), std::string("h\0i", 3));
  EXPECT_EQ((*sel)->Blob(2), blob);
  EXPECT_TRUE((*sel)->IsNull(3));
  EXPECT_FALSE((*sel)->Step().value());
  EXPECT_FALSE((*db)->Prepare("SELEC nonsense").ok());
}

// Values bound without a copy (Copy::kNo) are read at Run(), which resets
// the statement and clears its bindings: a buffer changed or freed after
// Run() changes nothing written, and the next use binds afresh.
TEST(Store, ValuesBoundWithoutACopyAreWrittenAsTheyWereAtRun) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (s TEXT, b BLOB, n TEXT)").ok());
  constexpr auto kNoCopy = Statement::Copy::kNo;
  for (int i = 0; i < 2; ++i) {
    auto ins = (*db)->Use("INSERT INTO t VALUES (?1, ?2, ?3)");
    ASSERT_TRUE(ins.ok());
    std::string text = "row " + std::to_string(i) + std::string(40, 'x');
    Bytes blob(64, static_cast<std::uint8_t>(i));
    // A view of `text`, not `i == 0 ? "" : text`: that makes a temporary
    // string, gone before Run() (what kNo's callers must not do).
    const std::string_view maybe = i == 0 ? std::string_view() : std::string_view(text);
    (*ins)->Bind(1, text, kNoCopy).BindBlob(2, blob, kNoCopy).BindTextOrNull(3, maybe, kNoCopy);
    ASSERT_TRUE((*ins)->Run().ok());
    text.assign(text.size(), '?');  // after Run(): not what was written
    blob.assign(blob.size(), 0xee);
  }
  auto sel = (*db)->Use("SELECT s, b, n FROM t ORDER BY s");
  ASSERT_TRUE(sel.ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*sel)->Step().value());
    const std::string text = "row " + std::to_string(i) + std::string(40, 'x');
    EXPECT_EQ((*sel)->Text(0), text);
    EXPECT_EQ((*sel)->Blob(1), Bytes(64, static_cast<std::uint8_t>(i)));
    EXPECT_EQ((*sel)->IsNull(2), i == 0);
    if (i == 1) {
      EXPECT_EQ((*sel)->Text(2), text);
    }
  }
  EXPECT_FALSE((*sel)->Step().value());
}

// A constraint that fires is a storage error (a bug in the writer), never a
// client's 409: it must reach the API as an internal error.
TEST(Store, ConstraintViolationIsInternalNotConflict) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE u (k INTEGER PRIMARY KEY, v INTEGER CHECK (v >= 0))").ok());
  auto bad = (*db)->Prepare("INSERT INTO u VALUES (1, -1)");
  ASSERT_TRUE(bad.ok());
  Status s = bad->Run();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(s.error().code, "store_constraint");
}

}  // namespace
}  // namespace kray::store
