// The counting operator new of alloc_count.h.
#include "alloc_count.h"

#include <cstdlib>
#include <new>

namespace kray::bench {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace kray::bench

// GCC's -Wmismatched-new-delete takes the free() below for one of memory
// from the built-in operator new; here both are these replacements.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  auto& count = kray::bench::g_allocations;
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop
