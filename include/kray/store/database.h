// SQLite RAII wrapper used by every module that owns tables. sqlite3.h stays
// in database.cpp; callers see Database / Statement / Transaction only.
//
// Errors: every failure is an Error of kind kInternal ("store_error", or
// "store_constraint" when a constraint such as CHECK (available >= 0) or
// UNIQUE fires: a storage error is a bug or an I/O failure, never a state
// conflict the client caused) or kUnavailable ("store_busy" after the busy
// timeout). Domain code checks its own rules before writing.
//
// Thread-safety: a Database (and its Statements) must be used by one thread at
// a time. Readers open their own Database on the same file (WAL mode lets
// them read concurrently with the single writer).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kray/core/bytes.h"
#include "kray/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kray::store {

// Layout generation of a krayd store file (PRAGMA user_version). Files of
// generations 1 and 2 (krayd 0.1, before the operation log) are refused with
// "store_incompatible"; newer ones with "store_too_new".
inline constexpr int kStoreFormat = 3;
int StoreVersion();  // == kStoreFormat

enum class Synchronous { kNormal, kFull, kExtra };
// "NORMAL" | "FULL" | "EXTRA" (case-insensitive); error "invalid_synchronous".
Result<Synchronous> ParseSynchronous(std::string_view text);

struct OpenOptions {
  Synchronous synchronous = Synchronous::kFull;
  int busy_timeout_ms = 5000;
  bool read_only = false;              // open SQLITE_OPEN_READONLY (file must exist)
  int cache_size_kib = 65536;          // PRAGMA cache_size (page cache per connection)
  std::int64_t mmap_size = 268435456;  // PRAGMA mmap_size (0 = off)
  // PRAGMA wal_autocheckpoint in pages. Larger than SQLite's 1000 so hot
  // index pages rewritten by many group commits are copied back once.
  int wal_autocheckpoint = 16384;
  // With synchronous FULL or EXTRA, hand each commit's WAL frames to the OS
  // in a few large writes instead of two per frame (src/store/wal_vfs.h).
  // Only for the one connection that writes the file: frames a rolled-back
  // transaction left in this connection's buffer would be written later, over
  // what another writer committed meanwhile.
  bool batch_wal_writes = false;
  // With batch_wal_writes: also sync the WAL after every 512 KiB written, so
  // that this writer's large commits reach the disk in pieces instead of
  // making another store's commit flush them (src/store/wal_vfs.h). For
  // writers off the request path whose commits can be megabytes and may
  // take longer.
  bool paced_wal_sync = false;
  // Checkpoint the WAL on a thread of its own instead of inside the commit
  // that crosses `wal_autocheckpoint` (src/store/checkpointer.h): for a
  // writer whose commits are on a request's path.
  bool checkpoint_in_background = false;
  // With checkpoint_in_background: the WAL size, in frames, from which the
  // writer checkpoints inside its own commits (it copies what arrived while
  // the thread's pass ran, and bounds the WAL). 0: an eighth past
  // `wal_autocheckpoint`, for commits of a few dozen frames; a writer whose
  // commits can be larger needs more (src/store/checkpointer.h).
  int writer_checkpoint_frames = 0;
};

// Process-wide counts of the background checkpoints
// (OpenOptions::checkpoint_in_background), for /metrics, tests and
// benchmarks: passes of the checkpoint threads, and checkpoints the writers
// ran themselves past their bound (OpenOptions::writer_checkpoint_frames).
// A failed pass (disk full, an I/O error) leaves the WAL growing until a
// later one succeeds.
struct CheckpointCounts {
  std::uint64_t background = 0;     // passes of the threads
  std::uint64_t frames_copied = 0;  // WAL frames those passes found copied back when they ended
  std::uint64_t failed = 0;         // passes that failed, other than busy
  std::uint64_t on_writer = 0;
};
CheckpointCounts CheckpointCountsNow();
// The same for the store at `path` (as given to Database::Open); zeros for a
// store that never checkpointed in the background.
CheckpointCounts CheckpointCountsFor(const std::string& path);

// One schema migration of a component (a module's own tables). Components
// version their schema independently: schema_versions(component, version).
struct Migration {
  int version;            // NNN of schema/<component>/NNN_name.sql, 1, 2, ...
  std::string_view name;  // file name, for errors
  std::string_view sql;
};

class Statement;
class StatementHandle;
class WalCheckpointer;

class Database {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" works),
  // sets journal_mode=WAL, synchronous, foreign_keys=ON, busy_timeout. A new
  // writable file is stamped with kStoreFormat; a file of another generation
  // is refused (see kStoreFormat).
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const OpenOptions& opts = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Executes one or more SQL statements without results.
  Status Exec(std::string_view sql);
  // Executes ONE statement without results through the statement cache (no
  // parsing after the first call): for what runs on every request, such as
  // BEGIN and COMMIT.
  Status ExecCached(std::string_view sql);

  // Prepares a new statement owned by the caller.
  Result<Statement> Prepare(std::string_view sql);

  // A statement cached on this connection (prepared on first use), borrowed
  // for the handle's scope: it is reset and its bindings cleared when the
  // handle is destroyed, so no read snapshot outlives the caller's use.
  // Found by the text itself: a literal makes no std::string (most of the
  // SQL is longer than a short string's 15 bytes, so each would allocate).
  Result<StatementHandle> Use(std::string_view sql);

  // Applies every migration of `component` newer than its recorded version,
  // each in its own transaction, in version order. Idempotent. A recorded
  // version newer than the newest given is "store_too_new".
  Status Migrate(std::string_view component, std::span<const Migration> migrations);
  // The component's recorded schema version (0 if none).
  Result<int> ComponentVersion(std::string_view component);

  // Commits after SetCommitsSynced(false) do not sync the WAL (as durable
  // as with synchronous=NORMAL; their frames still reach the OS before they
  // are published, in few writes); SetCommitsSynced(true) syncs them again.
  // For commits whose durability the caller provides otherwise (the
  // sequencer's input log, src/state/input_log.h). Outside a transaction.
  // Needs the WAL-batching VFS (OpenOptions::batch_wal_writes) and an open
  // WAL: returns false, and commits keep syncing, without them.
  bool SetCommitsSynced(bool synced);

  std::int64_t LastInsertRowId() const;
  int Changes() const;
  bool InTransaction() const;
  const std::string& path() const { return path_; }

 private:
  Database() = default;
  Result<int> UserVersion();
  Status CheckFormat(bool writable);
  sqlite3* db_ = nullptr;
  std::string path_;
  // Hashes a std::string and a std::string_view alike, so Use() finds by view.
  // Not noexcept on purpose: libstdc++ then keeps each node's hash, as for
  // std::hash<std::string>, instead of hashing the statements' text again
  // while it walks a bucket (~+700 instructions a transfer, callgrind).
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // stopped first in ~Database
};

// A prepared statement. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  // Whether SQLite copies a bound text or blob. kNo: `v` must stay valid
  // until the statement's bindings are cleared (Run(), Reset(),
  // Database::Use(), the end of its StatementHandle; a failed Step() keeps
  // them), and SQLite spares a malloc and a memcpy per value: for the rows
  // written for every operation.
  enum class Copy { kYes, kNo };
  Statement& Bind(int idx, std::int64_t v);
  Statement& Bind(int idx, std::string_view v, Copy copy = Copy::kYes);  // text
  Statement& BindBlob(int idx, ByteSpan v, Copy copy = Copy::kYes);
  Statement& BindNull(int idx);
  // Text, or NULL when `v` is empty.
  Statement& BindTextOrNull(int idx, std::string_view v, Copy copy = Copy::kYes);
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
  std::string Text(int col) const;  // "" for NULL
  Bytes Blob(int col) const;        // empty for NULL

 private:
  friend class Database;
  Statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  int bind_rc_ = 0;
};

// See Database::Use. Movable, not copyable.
class StatementHandle {
 public:
  explicit StatementHandle(Statement* s) : s_(s) {}
  StatementHandle(StatementHandle&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StatementHandle& operator=(StatementHandle&&) = delete;
  ~StatementHandle() {
    if (s_) s_->Reset();
  }
  Statement& operator*() const { return *s_; }
  Statement* operator->() const { return s_; }

 private:
  Statement* s_;
};

// Steps `s` to the end, calling `row(s)` for every row; `row` returns Status
// (stops at the first error). The statement is reset afterwards.
Status ForEachRow(Statement& s, const std::function<Status(const Statement&)>& row);

// Collects every row through `read(s)`.
template <class T, class F>
Result<std::vector<T>> CollectRows(Statement& s, F read) {
  std::vector<T> out;
  Status st = ForEachRow(s, [&](const Statement& row) -> Status {
    out.push_back(read(row));
    return Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

// The first row through `read(s)`, or nullopt when there is none.
template <class T, class F>
Result<std::optional<T>> FirstRow(Statement& s, F read) {
  auto more = s.Step();
  if (!more.ok()) return std::move(more).error();
  std::optional<T> out;
  if (*more) out = read(s);
  s.Reset();
  return out;
}

// The first column of the first row as an integer (`fallback` when there is
// no row or it is NULL).
Result<std::int64_t> QueryInt(Database& db, const std::string& sql, std::int64_t fallback = 0);

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

// A read transaction (BEGIN DEFERRED): every query inside it sees one
// snapshot. Ends (COMMIT) at destruction.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  const Status& status() const { return begin_; }

 private:
  Database& db_;
  Status begin_;
};

// A SAVEPOINT inside the current transaction: Release() keeps its changes,
// destruction without Release() rolls them back (ROLLBACK TO + RELEASE).
class Savepoint {
 public:
  Savepoint(Database& db, std::string name);
  ~Savepoint();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;

  const Status& status() const { return begin_; }
  Status Release();
  void Rollback();

 private:
  Database& db_;
  std::string name_;
  Status begin_;
  bool done_ = false;
};

}  // namespace kray::store
