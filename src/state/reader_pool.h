// Internal: a pool of read-only connections to the store (WAL readers see the
// last committed transaction and never block the writer). Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kray/core/result.h"
#include "kray/store/database.h"

namespace kray::state {

class ReaderPool {
 public:
  ReaderPool(std::string path, std::size_t keep) : path_(std::move(path)), keep_(keep) {}

  // A connection returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<store::Database> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), db_(std::move(o.db_)) {}
    ~Lease() {
      if (db_) pool_->Release(std::move(db_));
    }
    store::Database& db() { return *db_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<store::Database> db_;
  };

  Result<Lease> Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(db));
      }
    }
    store::OpenOptions oo;
    oo.read_only = true;
    oo.cache_size_kib = 16384;
    auto db = store::Database::Open(path_, oo);
    if (!db.ok()) return std::move(db).error();
    return Lease(this, std::move(*db));
  }

  void Clear() {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

 private:
  void Release(std::unique_ptr<store::Database> db) {
    std::lock_guard lock(mu_);
    if (idle_.size() < keep_) idle_.push_back(std::move(db));
  }
  std::string path_;
  std::size_t keep_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::Database>> idle_;  // guarded by mu_
};

}  // namespace kray::state
