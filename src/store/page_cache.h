// A thin wrapper around SQLite's default page cache that skips truncations
// with nothing to drop.
//
// At the end of every write transaction the pager truncates its cache to the
// database's size (pager_end_transaction -> xTruncate(dbSize + 1)). The
// default cache (pcache1) does the work only when its largest key ever seen,
// iMaxKey, is at or past that limit, and then, unless the range is shorter
// than its hash table, it scans every bucket of the table. When a B-tree page
// split leaves its new pages out of order, SQLite swaps two of them through a
// temporary page number, the pending-byte page (1 GiB / page size + 1,
// balance_nonroot in btree.c, SQLite 3.40). That raises iMaxKey to 262,145
// (4 KiB pages) though no page stays there, so every commit of a database
// under 1 GiB whose inserts split an index page scans the whole table: 8,192
// to 16,384 buckets with krayd's 64 MiB writer cache. perf put it at 5 % of
// krayd's CPU at 50 connections (docs/BENCHMARKS.md, seventh round).
//
// The wrapper keeps, per cache, an upper bound of the keys its pages hold,
// leaving out pages parked at the temporary number and counting those apart,
// and passes a truncation through only when a page may be at or past the
// limit. Everything else goes to the default cache unchanged.
#pragma once

#include <cstdint>

namespace kray::store {

// Installs the wrapper (sqlite3_config(SQLITE_CONFIG_PCACHE2)) once per
// process. It must run before SQLite initialises, so Database::Open calls it
// before anything else touches SQLite; returns false (and SQLite keeps its
// default cache) if SQLite was initialised first.
bool InstallPageCache();

// Process-wide counts, for tests and benchmarks: truncations asked for by
// SQLite, those skipped as having nothing to drop, and pages parked at the
// pending-byte number.
struct PageCacheCounts {
  std::uint64_t truncations = 0;
  std::uint64_t skipped = 0;
  std::uint64_t parked = 0;
};
PageCacheCounts PageCacheCountsNow();

}  // namespace kray::store
