// An exclusive lock on a data directory (the file <dir>/.lock), held for the
// life of the object, as bitcoind does: a second node on the same datadir
// would run a second writer with its own caches over the same store, and the
// store's write path relies on having one writer (OpenOptions::batch_wal_writes).
// The OS drops the lock when the process ends, even by kill -9.
#pragma once

#include <string>

#include "kray/core/result.h"

namespace kray::store {

class DatadirLock {
 public:
  // Fails with kUnavailable "datadir_locked" if another DatadirLock (in this
  // or another process) holds `dir`, or kInternal if the file cannot be opened.
  static Result<DatadirLock> Acquire(const std::string& dir);
  DatadirLock(DatadirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DatadirLock& operator=(DatadirLock&&) = delete;
  DatadirLock(const DatadirLock&) = delete;
  ~DatadirLock();

 private:
  explicit DatadirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace kray::store
