#include "kray/store/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "migrations.h"

namespace kray::store {
namespace {

Error SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite rc=" + std::to_string(rc) + ")";
  if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
    return Error{ErrorKind::kConflict, "constraint_violation", msg};
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    return Error{ErrorKind::kUnavailable, "store_busy", msg};
  return Error{ErrorKind::kInternal, "store_error", msg};
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
Statement& Statement::Bind(int idx, std::string_view v) {
  int rc = sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}
Statement& Statement::BindBlob(int idx, ByteSpan v) {
  int rc = sqlite3_bind_blob(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
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

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const OpenOptions& opts) {
  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  int flags =
      SQLITE_OPEN_NOMUTEX | (opts.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, nullptr);
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
  // Refuse a datadir from a newer binary even when not migrating.
  auto uv = db->UserVersion();
  if (!uv.ok()) return std::move(uv).error();
  if (*uv > StoreVersion()) {
    return Error{ErrorKind::kUnavailable, "store_too_new",
                 "datadir was created by a newer krayd (store version " + std::to_string(*uv) +
                     ", this binary supports " + std::to_string(StoreVersion()) + "): " + path};
  }
  if (opts.migrate && !opts.read_only) KRAY_TRY(db->Migrate());
  return db;
}

Database::~Database() {
  cache_.clear();  // finalize statements before closing
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

Result<Statement*> Database::Cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = Prepare(sql);
    if (!st.ok()) return std::move(st).error();
    it = cache_.emplace(sql, std::make_unique<Statement>(std::move(*st))).first;
  } else {
    it->second->Reset();
  }
  return it->second.get();
}

Result<int> Database::UserVersion() {
  auto st = Prepare("PRAGMA user_version");
  if (!st.ok()) return std::move(st).error();
  auto r = st->Step();
  if (!r.ok()) return std::move(r).error();
  return static_cast<int>(st->Int64(0));
}

Status Database::Migrate() {
  auto uv = UserVersion();
  if (!uv.ok()) return std::move(uv).error();
  if (*uv > StoreVersion()) {
    return Error{ErrorKind::kUnavailable, "store_too_new",
                 "datadir was created by a newer krayd (store version " + std::to_string(*uv) +
                     ", this binary supports " + std::to_string(StoreVersion()) + "): " + path_};
  }
  for (const auto& m : detail::EmbeddedMigrations()) {
    if (m.version <= *uv) continue;
    Transaction tx(*this);
    if (!tx.ok()) return tx.status();
    // Re-check under the write lock: another process may have migrated.
    auto cur = UserVersion();
    if (!cur.ok()) return std::move(cur).error();
    if (*cur >= m.version) continue;
    Status s = Exec(m.sql);
    if (!s.ok()) {
      Error e = s.error();
      e.message = "migration " + std::string(m.name) + " failed: " + e.message;
      return e;
    }
    KRAY_TRY(Exec("PRAGMA user_version=" + std::to_string(m.version)));
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

// ---------------- Transaction ----------------

Transaction::Transaction(Database& db) : db_(db), begin_(db.Exec("BEGIN IMMEDIATE")) {
  if (!begin_.ok()) done_ = true;
}
Transaction::~Transaction() {
  if (!done_) Rollback();
}
Status Transaction::Commit() {
  if (done_) return Error::Internal("transaction already finished");
  Status s = db_.Exec("COMMIT");
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
  if (db_.InTransaction()) (void)db_.Exec("ROLLBACK");
}

}  // namespace kray::store
