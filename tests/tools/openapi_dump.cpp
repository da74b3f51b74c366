// Prints the assembled OpenAPI document (what GET /api/openapi.json serves),
// for linting it with @redocly/cli in ctest (tests/js/lint_openapi.sh).
#include <cstdio>

#include "kray/api/openapi.h"

int main() {
  auto doc = kray::api::AssembleOpenApi(kray::api::OpenApiParts());
  if (!doc.ok()) {
    std::fprintf(stderr, "openapi_dump: %s\n", doc.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", doc->dump(2).c_str());
  return 0;
}
