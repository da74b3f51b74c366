// Internal: the embedded schema migrations (generated embedded_schema.cpp).
#pragma once

#include <string_view>
#include <vector>

namespace kray::store::detail {

struct Migration {
  int version;            // NNN of schema/NNN_name.sql
  std::string_view name;  // file name
  std::string_view sql;
};

// All migrations compiled into this binary, ordered by version.
const std::vector<Migration>& EmbeddedMigrations();
void SortMigrations(std::vector<Migration>& v);

}  // namespace kray::store::detail
