#include "kray/store/database.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "checkpointer.h"
#include "page_cache.h"
#include "wal_vfs.h"

namespace kray::store {
namespace {

Error SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite rc=" + std::to_string(rc) + ")";
  // A constraint that fires is a bug in the code that wrote (domain rules are
  // checked before writing), so it is internal, never a client's 409.
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Error{ErrorKind::kInternal, "store_constraint", msg};
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    return Error{ErrorKind::kUnavailable, "store_busy", msg};
  return Error{ErrorKind::kInternal, "store_error", msg};
}

sqlite3_destructor_type Destructor(Statement::Copy copy) {
  return copy == Statement::Copy::kYes ? SQLITE_TRANSIENT : SQLITE_STATIC;
}

}  // namespace

Result<Synchronous> ParseSynchronous(std::string_view text) {
  std::string up(text);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up == "NORMAL") return Synchronous::kNormal;
  if (up == "FULL") return Synchronous::kFull;
  if (up == "EXTRA") return Synchronous::kExtra;
  return Error::Invalid("invalid_synchronous",
                        "synchronous must be NORMAL, FULL or EXTRA, got '" + std::string(text) + "'");
}

int StoreVersion() {
  return kStoreFormat;
}

// ---------------- Statement ----------------

Statement::Statement(Statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_), bind_rc_(o.bind_rc_) {
  o.stmt_ = nullptr;
}
Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    db_ = o.db_;
    bind_rc_ = o.bind_rc_;
    o.stmt_ = nullptr;
  }
  return *this;
}
Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int idx, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, idx, v);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Statement& Statement::Bind(int idx, std::string_view v, Copy copy) {
  int rc = sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), Destructor(copy));
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Statement& Statement::BindBlob(int idx, ByteSpan v, Copy copy) {
  int rc = sqlite3_bind_blob(stmt_, idx, v.data(), static_cast<int>(v.size()), Destructor(copy));
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Statement& Statement::BindTextOrNull(int idx, std::string_view v, Copy copy) {
  return v.empty() ? BindNull(idx) : Bind(idx, v, copy);
}
Statement& Statement::BindNull(int idx) {
  int rc = sqlite3_bind_null(stmt_, idx);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    int rc = bind_rc_;
    return SqlError(nullptr, rc, "bind");
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = SqlError(db_, rc, "step");
  sqlite3_reset(stmt_);
  return e;
}

Status Statement::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) {
      Reset();
      return std::move(r).error();
    }
    if (!*r) break;
  }
  Reset();
  return Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

int Statement::ColumnCount() const {
  return sqlite3_column_count(stmt_);
}
bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::int64_t Statement::Int64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}
std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}
Bytes Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (!p || n <= 0) return {};
  auto* b = static_cast<const std::uint8_t*>(p);
  return Bytes(b, b + n);
}

// ---------------- Database ----------------

namespace {

// Process-wide settings, which SQLite accepts only before it initialises
// (registering the VFS does); the first Open makes them. Either refused
// (something initialised SQLite first) costs speed, not correctness: said
// once in the log.
void ConfigureSqliteOnce() {
  static const bool configured = [] {
    // SQLite's memory statistics (on unless built with
    // SQLITE_DEFAULT_MEMSTATUS=0, as Debian's is not) take one process-wide
    // mutex around every sqlite3_malloc and sqlite3_free: ~40 lock/unlock
    // pairs a transfer under callgrind, shared by the sequencer, the history
    // and rollup threads and every reader. krayd reads none of those
    // statistics (sqlite3_memory_used, sqlite3_status) and sets no soft
    // heap limit.
    const bool memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    const bool page_cache = InstallPageCache();
    if (!memstatus_off || !page_cache)
      spdlog::warn("SQLite was initialised before krayd configured it: memory statistics {}, page cache wrapper {}",
                   memstatus_off ? "off" : "left on", page_cache ? "installed" : "not installed");
    return memstatus_off && page_cache;
  }();
  (void)configured;
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const OpenOptions& opts) {
  ConfigureSqliteOnce();
  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  int flags =
      SQLITE_OPEN_NOMUTEX | (opts.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  const bool batch_wal = opts.batch_wal_writes && !opts.read_only && opts.synchronous != Synchronous::kNormal;
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, batch_wal ? WalBatchingVfs(opts.paced_wal_sync) : nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqlError(db->db_, rc, "cannot open database '" + path + "'");
    return e;
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, opts.busy_timeout_ms);
  const char* sync = opts.synchronous == Synchronous::kNormal  ? "NORMAL"
                     : opts.synchronous == Synchronous::kExtra ? "EXTRA"
                                                               : "FULL";
  if (!opts.read_only) KRAY_TRY(db->Exec("PRAGMA journal_mode=WAL"));
  KRAY_TRY(db->Exec(std::string("PRAGMA synchronous=") + sync));
  KRAY_TRY(db->Exec("PRAGMA foreign_keys=ON"));
  KRAY_TRY(db->Exec("PRAGMA cache_size=-" + std::to_string(opts.cache_size_kib)));
  KRAY_TRY(db->Exec("PRAGMA mmap_size=" + std::to_string(opts.mmap_size)));
  if (!opts.read_only) KRAY_TRY(db->Exec("PRAGMA wal_autocheckpoint=" + std::to_string(opts.wal_autocheckpoint)));
  // Without a limit the WAL keeps the size of the largest transaction it ever
  // held (a million-account genesis leaves ~600 MB); after a checkpoint it is
  // truncated to this.
  if (!opts.read_only) KRAY_TRY(db->Exec("PRAGMA journal_size_limit=" + std::to_string(64 << 20)));
  KRAY_TRY(db->CheckFormat(!opts.read_only));
  // Not for a database in memory, nor where checkpoints are turned off.
  const bool in_memory = path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0;
  if (opts.checkpoint_in_background && !opts.read_only && !in_memory && opts.wal_autocheckpoint > 0) {
    auto checkpointer =
        WalCheckpointer::Start(db->db_, path, sync, opts.wal_autocheckpoint, opts.writer_checkpoint_frames);
    if (!checkpointer.ok()) return std::move(checkpointer).error();
    db->checkpointer_ = std::move(*checkpointer);
  }
  return db;
}

Status Database::CheckFormat(bool writable) {
  auto uv = UserVersion();
  if (!uv.ok()) return std::move(uv).error();
  if (*uv == 0 && writable) {
    // A new file (or one without krayd tables): stamp the current format.
    auto tables = QueryInt(*this, "SELECT COUNT(*) FROM sqlite_master WHERE type='table'");
    if (!tables.ok()) return std::move(tables).error();
    if (*tables == 0) return Exec("PRAGMA user_version=" + std::to_string(kStoreFormat));
  }
  if (*uv > kStoreFormat) {
    return Error{ErrorKind::kUnavailable, "store_too_new",
                 "datadir was created by a newer krayd (store format " + std::to_string(*uv) +
                     ", this binary supports " + std::to_string(kStoreFormat) + "): " + path_};
  }
  if (*uv != kStoreFormat && !(*uv == 0 && !writable)) {
    return Error{ErrorKind::kUnavailable, "store_incompatible",
                 "store format " + std::to_string(*uv) + " of " + path_ +
                     " predates the operation log (krayd 0.1): its history cannot be replayed by this version. "
                     "Start a new datadir; the old one is left untouched"};
  }
  return Ok();
}

Database::~Database() {
  checkpointer_.reset();  // no checkpoint runs while the connection closes
  cache_.clear();         // finalize statements before closing
  if (db_) sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = SqlError(nullptr, rc, "exec");
    e.message = "exec: " + msg + " (sqlite rc=" + std::to_string(rc) + ")";
    return e;
  }
  return Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) return SqlError(db_, rc, "prepare '" + std::string(sql.substr(0, 80)) + "'");
  return Statement(st, db_);
}

Status Database::ExecCached(std::string_view sql) {
  auto st = Use(sql);
  if (!st.ok()) return std::move(st).error();
  return (*st)->Run();
}

bool Database::SetCommitsSynced(bool synced) {
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK) return false;
  return SetWalCommitSyncs(wal, synced);
}

Result<StatementHandle> Database::Use(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = Prepare(sql);
    if (!st.ok()) return std::move(st).error();
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(std::move(*st))).first;
  } else {
    it->second->Reset();
  }
  return StatementHandle(it->second.get());
}

Result<int> Database::UserVersion() {
  auto v = QueryInt(*this, "PRAGMA user_version");
  if (!v.ok()) return std::move(v).error();
  return static_cast<int>(*v);
}

Result<int> Database::ComponentVersion(std::string_view component) {
  auto exists = QueryInt(*this, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='schema_versions'");
  if (!exists.ok()) return std::move(exists).error();
  if (*exists == 0) return 0;
  auto st = Prepare("SELECT version FROM schema_versions WHERE component=?1");
  if (!st.ok()) return std::move(st).error();
  st->Bind(1, component);
  auto v = FirstRow<int>(*st, [](const Statement& r) { return static_cast<int>(r.Int64(0)); });
  if (!v.ok()) return std::move(v).error();
  return v->value_or(0);
}

Status Database::Migrate(std::string_view component, std::span<const Migration> migrations) {
  std::vector<Migration> sorted(migrations.begin(), migrations.end());
  std::sort(sorted.begin(), sorted.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  int newest = sorted.empty() ? 0 : sorted.back().version;
  auto recorded = ComponentVersion(component);
  if (!recorded.ok()) return std::move(recorded).error();
  if (*recorded > newest) {
    return Error{ErrorKind::kUnavailable, "store_too_new",
                 "the " + std::string(component) + " tables of " + path_ + " are at schema version " +
                     std::to_string(*recorded) + ", this binary knows up to " + std::to_string(newest)};
  }
  for (const auto& m : sorted) {
    if (m.version <= *recorded) continue;
    Transaction tx(*this);
    if (!tx.ok()) return tx.status();
    KRAY_TRY(
        Exec("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) "
             "WITHOUT ROWID"));
    // Re-check under the write lock: another process may have migrated.
    auto cur = ComponentVersion(component);
    if (!cur.ok()) return std::move(cur).error();
    if (*cur >= m.version) continue;
    Status s = Exec(m.sql);
    if (!s.ok()) {
      Error e = s.error();
      e.message = "migration " + std::string(component) + "/" + std::string(m.name) + " failed: " + e.message;
      return e;
    }
    auto up = Prepare("INSERT OR REPLACE INTO schema_versions (component, version) VALUES (?1, ?2)");
    if (!up.ok()) return std::move(up).error();
    up->Bind(1, component).Bind(2, static_cast<std::int64_t>(m.version));
    KRAY_TRY(up->Run());
    KRAY_TRY(tx.Commit());
  }
  return Ok();
}

std::int64_t Database::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}
int Database::Changes() const {
  return sqlite3_changes(db_);
}
bool Database::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Status ForEachRow(Statement& s, const std::function<Status(const Statement&)>& row) {
  for (;;) {
    auto more = s.Step();
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    Status st = row(s);
    if (!st.ok()) {
      s.Reset();
      return st;
    }
  }
  s.Reset();
  return Ok();
}

Result<std::int64_t> QueryInt(Database& db, const std::string& sql, std::int64_t fallback) {
  auto st = db.Use(sql);
  if (!st.ok()) return std::move(st).error();
  auto v = FirstRow<std::int64_t>(**st, [&](const Statement& r) { return r.IsNull(0) ? fallback : r.Int64(0); });
  if (!v.ok()) return std::move(v).error();
  return v->value_or(fallback);
}

// ---------------- Transaction ----------------

Transaction::Transaction(Database& db) : db_(db), begin_(db.ExecCached("BEGIN IMMEDIATE")) {
  if (!begin_.ok()) done_ = true;
}
Transaction::~Transaction() {
  if (!done_) Rollback();
}
Status Transaction::Commit() {
  if (done_) return Error::Internal("transaction already finished");
  Status s = db_.ExecCached("COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  done_ = true;
  return Ok();
}
void Transaction::Rollback() {
  if (done_) return;
  done_ = true;
  if (db_.InTransaction()) (void)db_.ExecCached("ROLLBACK");
}

ReadTransaction::ReadTransaction(Database& db) : db_(db), begin_(db.ExecCached("BEGIN")) {}
ReadTransaction::~ReadTransaction() {
  if (begin_.ok() && db_.InTransaction()) (void)db_.ExecCached("COMMIT");
}

Savepoint::Savepoint(Database& db, std::string name)
    : db_(db), name_(std::move(name)), begin_(db.ExecCached("SAVEPOINT " + name_)) {
  if (!begin_.ok()) done_ = true;
}
Savepoint::~Savepoint() {
  if (!done_) Rollback();
}
Status Savepoint::Release() {
  if (done_) return Error::Internal("savepoint " + name_ + " already finished");
  done_ = true;
  return db_.ExecCached("RELEASE " + name_);
}
void Savepoint::Rollback() {
  if (done_) return;
  done_ = true;
  (void)db_.ExecCached("ROLLBACK TO " + name_);
  (void)db_.ExecCached("RELEASE " + name_);
}

}  // namespace kray::store
