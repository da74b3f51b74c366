// DatadirLock (see include/kray/store/datadir_lock.h).
#include "kray/store/datadir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kray::store {

Result<DatadirLock> DatadirLock::Acquire(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / ".lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Internal("cannot open '" + path + "': " + std::strerror(errno));
  // flock: per open file, so a second lock in this process is refused too.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Error{ErrorKind::kUnavailable, "datadir_locked",
                   "cannot lock datadir '" + dir + "' (" + path + "): another krayd is probably running on it"};
    return Error::Internal("cannot lock '" + path + "': " + std::strerror(err));
  }
  return DatadirLock(fd);
}

DatadirLock::~DatadirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace kray::store
