#include "kray/store/wal_sync.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kray::store {
namespace {

Error SyncError(const std::string& what, const std::string& path) {
  return Error{ErrorKind::kInternal, "wal_sync_failed", what + " " + path + ": " + std::strerror(errno)};
}

}  // namespace

WalSync::WalSync(std::string db_path)
    : wal_path_(db_path + "-wal"), dir_path_(std::filesystem::path(db_path).parent_path().string()) {
  if (dir_path_.empty()) dir_path_ = ".";
}

WalSync::~WalSync() {
  if (fd_ >= 0) ::close(fd_);
}

// SQLite deletes the log only when the last connection closes, so while the
// writer is open this finds the same file every time; the inode check is for
// the case where it did not (the new file then needs its directory entry
// synced too, as SQLite does for a log it creates under synchronous=FULL).
Status WalSync::Reopen() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return SyncError("cannot open", wal_path_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return SyncError("cannot stat", wal_path_);
  inode_ = st.st_ino;
  int dir = ::open(dir_path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return SyncError("cannot open", dir_path_);
  int rc = ::fsync(dir);
  ::close(dir);
  if (rc != 0) return SyncError("cannot fsync", dir_path_);
  return Ok();
}

Status WalSync::Sync() {
  struct stat st {};
  if (::stat(wal_path_.c_str(), &st) != 0) return SyncError("cannot stat", wal_path_);
  if (fd_ < 0 || st.st_ino != inode_) KRAY_TRY(Reopen());
  if (::fdatasync(fd_) != 0) return SyncError("cannot fdatasync", wal_path_);
  return Ok();
}

}  // namespace kray::store
