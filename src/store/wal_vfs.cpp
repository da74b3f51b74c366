// The WAL-batching VFS (see wal_vfs.h).
#include "wal_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace kray::store {
namespace {

constexpr const char* kVfsName = "kray-walbatch";
constexpr const char* kPacedVfsName = "kray-walbatch-paced";
// A paced file syncs after every this many bytes written (see wal_vfs.h).
constexpr std::size_t kSyncPiece = 512u << 10;
// A write that would grow the buffer past this goes out first: a genesis
// writes hundreds of MB of WAL in one transaction.
constexpr std::size_t kMaxBuffered = 8u << 20;

std::atomic<std::uint64_t> g_requested{0}, g_issued{0}, g_piece_syncs{0}, g_syncs{0}, g_skipped_syncs{0};
sqlite3_vfs* g_root = nullptr;  // the default VFS, set once before registration

// The file SQLite sees for a WAL. `real` is the default VFS's file, in the
// same allocation right after this struct.
struct WalFile {
  sqlite3_file base;
  sqlite3_file* real;
  char* buf;
  std::size_t len, cap;
  sqlite3_int64 start;   // file offset of buf[0]
  std::size_t piece;     // paced: sync after this many bytes written; 0: not paced
  std::size_t unsynced;  // paced: bytes written since the last sync
  // SetWalCommitSyncs(false): a commit's sync writes out and returns.
  bool skip_commit_sync;
  bool frames_unsynced;  // frames written since the last sync
  bool header_unsynced;  // the header (offset 0) written since the last sync
};

constexpr std::size_t kWalFileSize = (sizeof(WalFile) + 7) & ~std::size_t{7};

WalFile* Wal(sqlite3_file* f) {
  return reinterpret_cast<WalFile*>(f);
}
sqlite3_file* Real(sqlite3_file* f) {
  return Wal(f)->real;
}

// The unix VFS passes `amount & 0x1ffff` bytes to each pwrite (its debug
// build asserts the amount fits; a multiple of 128 KiB would be reported as
// a full disk), so larger writes go in chunks below that.
constexpr std::size_t kMaxChunk = 31 * 4096;

int WriteThrough(WalFile* f, const char* data, std::size_t n, sqlite3_int64 offset) {
  sqlite3_file* real = f->real;
  while (n > 0) {
    std::size_t chunk = n < kMaxChunk ? n : kMaxChunk;
    if (f->piece > 0 && chunk > f->piece - f->unsynced) chunk = f->piece - f->unsynced;  // a piece ends here
    g_issued.fetch_add(1, std::memory_order_relaxed);
    if (int rc = real->pMethods->xWrite(real, data, static_cast<int>(chunk), offset); rc != SQLITE_OK) return rc;
    if (f->piece > 0 && (f->unsynced += chunk) == f->piece) {
      f->unsynced = 0;  // first: after a failed sync the next piece starts afresh
      g_piece_syncs.fetch_add(1, std::memory_order_relaxed);
      if (int rc = real->pMethods->xSync(real, SQLITE_SYNC_NORMAL); rc != SQLITE_OK) return rc;
    }
    data += chunk;
    n -= chunk;
    offset += static_cast<sqlite3_int64>(chunk);
  }
  return SQLITE_OK;
}

int Flush(WalFile* f) {
  if (f->len == 0) return SQLITE_OK;
  const std::size_t n = f->len;
  f->len = 0;
  return WriteThrough(f, f->buf, n, f->start);
}

// Appends to the buffer, or writes through what it cannot hold.
int BufferWrite(WalFile* f, const void* data, int amt, sqlite3_int64 offset) {
  const auto n = static_cast<std::size_t>(amt);
  const bool continues = f->len > 0 && offset == f->start + static_cast<sqlite3_int64>(f->len);
  if (f->len > 0 && (!continues || f->len + n > kMaxBuffered)) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (n > kMaxBuffered) return WriteThrough(f, static_cast<const char*>(data), n, offset);
  if (f->len + n > f->cap) {
    std::size_t cap = f->cap ? f->cap : 64 * 1024;
    while (cap < f->len + n) cap *= 2;
    void* grown = std::realloc(f->buf, cap);
    if (!grown) return SQLITE_IOERR_NOMEM;
    f->buf = static_cast<char*>(grown);
    f->cap = cap;
  }
  if (f->len == 0) f->start = offset;
  std::memcpy(f->buf + f->len, data, n);
  f->len += n;
  return SQLITE_OK;
}

int WalClose(sqlite3_file* file) {
  WalFile* f = Wal(file);
  int rc = Flush(f);
  int rc_close = f->real->pMethods->xClose(f->real);
  std::free(f->buf);
  f->buf = nullptr;
  f->cap = 0;
  return rc != SQLITE_OK ? rc : rc_close;
}

int WalRead(sqlite3_file* file, void* out, int amt, sqlite3_int64 offset) {
  if (int rc = Flush(Wal(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xRead(Real(file), out, amt, offset);
}

int WalWrite(sqlite3_file* file, const void* data, int amt, sqlite3_int64 offset) {
  g_requested.fetch_add(1, std::memory_order_relaxed);
  WalFile* f = Wal(file);
  (offset == 0 ? f->header_unsynced : f->frames_unsynced) = true;  // the header is the file's first 32 bytes
  return BufferWrite(f, data, amt, offset);
}

// Every other operation sees the file with the buffer written out.
#define KRAY_FLUSH_THEN(call)                                  \
  do {                                                         \
    if (int rc = Flush(Wal(file)); rc != SQLITE_OK) return rc; \
    return Real(file)->pMethods->call;                         \
  } while (0)

int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  KRAY_FLUSH_THEN(xTruncate(Real(file), size));
}
int WalSync(sqlite3_file* file, int flags) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  // A commit's sync follows its frames; the syncs of a restarted WAL's
  // header and of a checkpoint do not (see SetWalCommitSyncs).
  if (f->skip_commit_sync && f->frames_unsynced && !f->header_unsynced) {
    f->frames_unsynced = false;
    g_skipped_syncs.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  f->frames_unsynced = f->header_unsynced = false;
  f->unsynced = 0;
  g_syncs.fetch_add(1, std::memory_order_relaxed);
  return f->real->pMethods->xSync(f->real, flags);
}
int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  KRAY_FLUSH_THEN(xFileSize(Real(file), size));
}
int WalLock(sqlite3_file* file, int level) {
  KRAY_FLUSH_THEN(xLock(Real(file), level));
}
int WalUnlock(sqlite3_file* file, int level) {
  KRAY_FLUSH_THEN(xUnlock(Real(file), level));
}
int WalCheckReservedLock(sqlite3_file* file, int* out) {
  KRAY_FLUSH_THEN(xCheckReservedLock(Real(file), out));
}
int WalFileControl(sqlite3_file* file, int op, void* arg) {
  KRAY_FLUSH_THEN(xFileControl(Real(file), op, arg));
}
int WalShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  KRAY_FLUSH_THEN(xShmMap(Real(file), region, size, extend, out));
}
int WalShmLock(sqlite3_file* file, int offset, int n, int flags) {
  KRAY_FLUSH_THEN(xShmLock(Real(file), offset, n, flags));
}
int WalShmUnmap(sqlite3_file* file, int delete_flag) {
  KRAY_FLUSH_THEN(xShmUnmap(Real(file), delete_flag));
}
int WalFetch(sqlite3_file* file, sqlite3_int64 offset, int amt, void** out) {
  KRAY_FLUSH_THEN(xFetch(Real(file), offset, amt, out));
}
int WalUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  KRAY_FLUSH_THEN(xUnfetch(Real(file), offset, p));
}
#undef KRAY_FLUSH_THEN

int WalSectorSize(sqlite3_file* file) {
  return Real(file)->pMethods->xSectorSize(Real(file));
}
int WalDeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}
void WalShmBarrier(sqlite3_file* file) {
  Real(file)->pMethods->xShmBarrier(Real(file));
}

const sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
    WalShmMap,
    WalShmLock,
    WalShmBarrier,
    WalShmUnmap,
    WalFetch,
    WalUnfetch,
};

sqlite3_vfs g_vfs{}, g_paced_vfs{};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  // Everything but a WAL is the default VFS's own file (our allocation is
  // larger than it needs).
  if (!(flags & SQLITE_OPEN_WAL)) return g_root->xOpen(g_root, name, file, flags, out_flags);
  WalFile* f = Wal(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kWalFileSize);
  f->buf = nullptr;
  f->len = f->cap = 0;
  f->start = 0;
  f->piece = vfs == &g_paced_vfs ? kSyncPiece : 0;
  f->unsynced = 0;
  f->skip_commit_sync = f->frames_unsynced = f->header_unsynced = false;
  int rc = g_root->xOpen(g_root, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    return rc;
  }
  // The unix VFS's files are version 3; anything older would lack the
  // methods forwarded above.
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// The rest of the VFS is the default one's.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_root->xDelete(g_root, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_root->xAccess(g_root, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_root->xFullPathname(g_root, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return g_root->xDlOpen(g_root, name);
}
void DlError(sqlite3_vfs*, int n, char* out) {
  g_root->xDlError(g_root, n, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_root->xDlSym(g_root, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) {
  g_root->xDlClose(g_root, handle);
}
int Randomness(sqlite3_vfs*, int n, char* out) {
  return g_root->xRandomness(g_root, n, out);
}
int Sleep(sqlite3_vfs*, int us) {
  return g_root->xSleep(g_root, us);
}
int CurrentTime(sqlite3_vfs*, double* out) {
  return g_root->xCurrentTime(g_root, out);
}
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return g_root->xGetLastError(g_root, n, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_root->xCurrentTimeInt64(g_root, out);
}

// One registration of the VFS, under `name`.
void Fill(sqlite3_vfs& v, const char* name) {
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(kWalFileSize) + g_root->szOsFile;
  v.mxPathname = g_root->mxPathname;
  v.zName = name;
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
}

bool Register() {
  g_root = sqlite3_vfs_find(nullptr);
  if (!g_root || g_root->iVersion < 2) return false;
  Fill(g_vfs, kVfsName);
  Fill(g_paced_vfs, kPacedVfsName);
  return sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) == SQLITE_OK &&
         sqlite3_vfs_register(&g_paced_vfs, /*makeDflt=*/0) == SQLITE_OK;
}

}  // namespace

const char* WalBatchingVfs(bool paced) {
  static const bool registered = Register();
  return registered ? (paced ? kPacedVfsName : kVfsName) : nullptr;
}

bool SetWalCommitSyncs(sqlite3_file* wal, bool synced) {
  if (!wal || wal->pMethods != &kWalMethods) return false;  // not ours (or not open yet)
  Wal(wal)->skip_commit_sync = !synced;
  return true;
}

WalWriteCounts WalWriteCountsNow() {
  return {g_requested.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed),
          g_piece_syncs.load(std::memory_order_relaxed), g_syncs.load(std::memory_order_relaxed),
          g_skipped_syncs.load(std::memory_order_relaxed)};
}

}  // namespace kray::store
