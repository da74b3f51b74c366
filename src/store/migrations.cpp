#include "migrations.h"

#include <algorithm>

#include "kray/store/database.h"

namespace kray::store {
namespace detail {
void SortMigrations(std::vector<Migration>& v) {
  std::sort(v.begin(), v.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
}
}  // namespace detail

int StoreVersion() {
  const auto& m = detail::EmbeddedMigrations();
  return m.empty() ? 0 : m.back().version;
}

}  // namespace kray::store
