// The OpenAPI 3.1 document of every route krayd serves, assembled from one
// part per module (docs/openapi/<module>.json, compiled into the binary by
// cmake/KrayEmbed.cmake) and served at GET /api/openapi.json.
//
// Adding a route: add its path to the part of the module that registers it
// (docs/ARCHITECTURE.md, "The OpenAPI document"). The unit test
// OpenApi.DocumentMatchesRouter fails while a route of the router is missing
// from the document, or the document names a route the router lacks.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "kray/api/embedded_file.h"
#include "kray/api/json_util.h"
#include "kray/core/result.h"

namespace kray::api {

class Router;
struct ApiContext;

// The parts as compiled in, base.json first.
std::span<const EmbeddedFile> OpenApiParts();

// Assembles `parts`: the first is the skeleton (openapi, info, servers,
// tags, shared components); every other part may hold only "paths",
// "components" and "tags", which are merged in. Fails with the internal
// error "openapi_invalid" naming the part, for a part that is not a JSON
// object, a top-level key outside those three, or a path, component or tag
// that another part already defines. Thread-safe (pure).
Result<Json> AssembleOpenApi(std::span<const EmbeddedFile> parts);

// The OpenAPI form of a router pattern: ":name" segments become "{name}"
// ("/api/account/:address/balance" -> "/api/account/{address}/balance").
std::string OpenApiPath(std::string_view pattern);

// GET /api/openapi.json: the assembled document, its info.version set to
// ctx.version. Assembled once, here; a broken part (caught by the unit
// test) makes the route answer 500 rather than stop the node.
void RegisterOpenApiRoutes(Router& router, const ApiContext& ctx);

}  // namespace kray::api
