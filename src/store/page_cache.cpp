#include "page_cache.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>

namespace kray::store {
namespace {

// SQLite's PENDING_BYTE (0x40000000 unless a test build moves it): the page
// holding it is never a B-tree page, which is why balance_nonroot parks pages
// there while it swaps their numbers.
constexpr unsigned kPendingByte = 0x40000000u;

sqlite3_pcache_methods2 g_base{};  // SQLite's default cache (pcache1)
sqlite3_pcache_methods2 g_wrapper{};
std::atomic<std::uint64_t> g_truncations{0};
std::atomic<std::uint64_t> g_skipped{0};
std::atomic<std::uint64_t> g_parked{0};

// One per page cache (one per open database connection). SQLite calls a
// cache's methods from one thread at a time (the connection's), so the
// fields need no lock.
struct Cache {
  sqlite3_pcache* inner = nullptr;
  unsigned parking_key = 0;  // the pending-byte page for this page size
  unsigned max_key = 0;      // no page outside the parking spot has a larger key
  unsigned parked = 0;       // pages rekeyed to the parking spot and not yet away
};

Cache* AsCache(sqlite3_pcache* p) {
  return reinterpret_cast<Cache*>(p);
}

int Init(void*) {
  return g_base.xInit(g_base.pArg);
}
void Shutdown(void*) {
  if (g_base.xShutdown) g_base.xShutdown(g_base.pArg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
  auto* c = new (std::nothrow) Cache();
  if (!c) return nullptr;
  c->inner = g_base.xCreate(page_size, extra_size, purgeable);
  if (!c->inner) {
    delete c;
    return nullptr;
  }
  c->parking_key = kPendingByte / static_cast<unsigned>(page_size) + 1;
  return reinterpret_cast<sqlite3_pcache*>(c);
}

void Cachesize(sqlite3_pcache* p, int pages) {
  g_base.xCachesize(AsCache(p)->inner, pages);
}
int Pagecount(sqlite3_pcache* p) {
  return g_base.xPagecount(AsCache(p)->inner);
}

// A page fetched at any key, the parking spot included, counts in max_key:
// only a rekey can park a page without raising it.
sqlite3_pcache_page* Fetch(sqlite3_pcache* p, unsigned key, int create) {
  Cache* c = AsCache(p);
  sqlite3_pcache_page* page = g_base.xFetch(c->inner, key, create);
  if (page) c->max_key = std::max(c->max_key, key);
  return page;
}

void Unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  g_base.xUnpin(AsCache(p)->inner, page, discard);
}

void Rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Cache* c = AsCache(p);
  g_base.xRekey(c->inner, page, old_key, new_key);
  if (old_key == c->parking_key && c->parked > 0) --c->parked;
  if (new_key == c->parking_key) {
    ++c->parked;
    g_parked.fetch_add(1, std::memory_order_relaxed);
  } else {
    c->max_key = std::max(c->max_key, new_key);
  }
}

// Drops every page whose key is >= limit. With no page parked and max_key
// below the limit, no page can be at or past it: the default cache would
// only scan its table to find that out.
void Truncate(sqlite3_pcache* p, unsigned limit) {
  Cache* c = AsCache(p);
  g_truncations.fetch_add(1, std::memory_order_relaxed);
  if (c->parked == 0 && c->max_key < limit) {
    g_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_base.xTruncate(c->inner, limit);
  if (limit <= c->parking_key) c->parked = 0;
  if (c->max_key >= limit) c->max_key = limit > 0 ? limit - 1 : 0;
}

void Destroy(sqlite3_pcache* p) {
  Cache* c = AsCache(p);
  g_base.xDestroy(c->inner);
  delete c;
}

void Shrink(sqlite3_pcache* p) {
  g_base.xShrink(AsCache(p)->inner);
}

bool Install() {
  // Both calls fail with SQLITE_MISUSE once SQLite is initialised.
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_base) != SQLITE_OK) return false;
  if (!g_base.xInit || !g_base.xCreate || !g_base.xRekey || !g_base.xTruncate) return false;
  g_wrapper.iVersion = 1;
  g_wrapper.pArg = nullptr;
  g_wrapper.xInit = Init;
  g_wrapper.xShutdown = Shutdown;
  g_wrapper.xCreate = Create;
  g_wrapper.xCachesize = Cachesize;
  g_wrapper.xPagecount = Pagecount;
  g_wrapper.xFetch = Fetch;
  g_wrapper.xUnpin = Unpin;
  g_wrapper.xRekey = Rekey;
  g_wrapper.xTruncate = Truncate;
  g_wrapper.xDestroy = Destroy;
  g_wrapper.xShrink = Shrink;
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &g_wrapper) == SQLITE_OK;
}

}  // namespace

bool InstallPageCache() {
  static const bool installed = Install();
  return installed;
}

PageCacheCounts PageCacheCountsNow() {
  return {g_truncations.load(std::memory_order_relaxed), g_skipped.load(std::memory_order_relaxed),
          g_parked.load(std::memory_order_relaxed)};
}

}  // namespace kray::store
