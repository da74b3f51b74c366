// A pool of read-only connections to one store file. In WAL mode a reader
// sees the last committed transaction and never blocks the writer, so each
// component that owns a file (the ledger, the rollup index, the bridge's
// scanner and spend coordinator) serves its reads from one of these.
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::store {

class ReaderPool {
 public:
  // Keeps at most `keep` idle connections, each with a page cache of
  // `cache_size_kib`. The path may be given later (SetPath) by an owner that
  // learns it when it opens its writer; Acquire needs it.
  explicit ReaderPool(std::size_t keep, int cache_size_kib = 16384, std::string path = "")
      : path_(std::move(path)), keep_(keep), cache_size_kib_(cache_size_kib) {}

  void SetPath(std::string path) {
    std::lock_guard lock(mu_);
    path_ = std::move(path);
    idle_.clear();
  }

  // A connection, returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Database> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), db_(std::move(o.db_)) {}
    ~Lease() {
      if (db_) pool_->Release(std::move(db_));
    }
    Database& db() { return *db_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Database> db_;
  };

  Result<Lease> Acquire() {
    std::string path;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(db));
      }
      path = path_;
    }
    if (path.empty()) return Error::Internal("reader pool used before its store was opened");
    OpenOptions oo;
    oo.read_only = true;
    oo.cache_size_kib = cache_size_kib_;
    auto db = Database::Open(path, oo);
    if (!db.ok()) return std::move(db).error();
    return Lease(this, std::move(*db));
  }

  // Runs `fn` on a pooled connection.
  Status With(const std::function<Status(Database&)>& fn) {
    auto lease = Acquire();
    if (!lease.ok()) return std::move(lease).error();
    return fn(lease->db());
  }

  void Clear() {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

 private:
  void Release(std::unique_ptr<Database> db) {
    std::lock_guard lock(mu_);
    if (idle_.size() < keep_) idle_.push_back(std::move(db));
  }

  std::mutex mu_;
  std::string path_;  // guarded by mu_
  const std::size_t keep_;
  const int cache_size_kib_;
  std::vector<std::unique_ptr<Database>> idle_;  // guarded by mu_
};

}  // namespace kray::store
