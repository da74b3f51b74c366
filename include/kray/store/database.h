// SQLite RAII wrapper used by every module that owns tables. sqlite3.h stays
// in database.cpp; callers see Database / Statement / Transaction only.
//
// Thread-safety: a Database (and its Statements) must be used by one thread at
// a time. Readers open their own Database on the same file (WAL mode lets
// them read concurrently with the single writer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kray::store {

// Number of the newest schema migration compiled into this binary
// (schema/NNN_*.sql, highest NNN).
int StoreVersion();

enum class Synchronous { kNormal, kFull, kExtra };
// "NORMAL" | "FULL" | "EXTRA" (case-insensitive); error "invalid_synchronous".
Result<Synchronous> ParseSynchronous(std::string_view text);

struct OpenOptions {
  Synchronous synchronous = Synchronous::kFull;
  int busy_timeout_ms = 5000;
  bool read_only = false;              // open SQLITE_OPEN_READONLY (file must exist)
  bool migrate = true;                 // apply embedded migrations on open (ignored if read_only)
  int cache_size_kib = 65536;          // PRAGMA cache_size (page cache per connection)
  std::int64_t mmap_size = 268435456;  // PRAGMA mmap_size (0 = off)
  // PRAGMA wal_autocheckpoint in pages. Larger than SQLite's 1000 so hot
  // index pages rewritten by many group commits are copied back once.
  int wal_autocheckpoint = 16384;
};

class Statement;

class Database {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" works),
  // sets journal_mode=WAL, synchronous, foreign_keys=ON, busy_timeout, then
  // applies pending migrations. Refuses a file whose user_version is newer
  // than StoreVersion() (code "store_too_new").
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const OpenOptions& opts = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Executes one or more SQL statements without results.
  Status Exec(std::string_view sql);

  // Prepares a new statement owned by the caller.
  Result<Statement> Prepare(std::string_view sql);

  // Returns a statement cached on this connection (prepared on first use),
  // already reset with bindings cleared. Valid until the Database is closed.
  Result<Statement*> Cached(const std::string& sql);

  // PRAGMA user_version.
  Result<int> UserVersion();
  // Applies every embedded migration newer than user_version, each in its own
  // transaction. Idempotent.
  Status Migrate();

  std::int64_t LastInsertRowId() const;
  int Changes() const;
  bool InTransaction() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }

 private:
  Database() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// A prepared statement. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  Statement& Bind(int idx, std::int64_t v);
  Statement& Bind(int idx, std::string_view v);  // text, copied
  Statement& BindBlob(int idx, ByteSpan v);      // blob, copied
  Statement& BindNull(int idx);
  // Any bind error is reported by the next Step().

  // Runs one step: true = a row is available, false = done.
  Result<bool> Step();
  // Steps to completion (for INSERT/UPDATE/DELETE); then resets.
  Status Run();
  // Resets the statement and clears bindings so it can be reused.
  void Reset();

  int ColumnCount() const;
  bool IsNull(int col) const;
  std::int64_t Int64(int col) const;
  std::string Text(int col) const;
  Bytes Blob(int col) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  int bind_rc_ = 0;
};

// BEGIN IMMEDIATE on construction (check ok()); Commit() commits; destruction
// without a successful Commit() rolls back.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const Status& status() const { return begin_; }
  bool ok() const { return begin_.ok(); }
  Status Commit();
  void Rollback();

 private:
  Database& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace kray::store
