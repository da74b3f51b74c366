// The block explorer: a static page served at "/" with its scripts and
// styles under "/explorer/<file>", compiled into krayd from src/api/explorer/
// (cmake/KrayEmbed.cmake: no CDN, nothing read from disk at run time). The
// page reads the REST API and checks account proofs in the browser
// (docs/API.md, "Explorer").
//
// Every answer carries a strict Content-Security-Policy (scripts and styles
// from this origin only, no inline code), X-Content-Type-Options: nosniff,
// an ETag and Cache-Control: no-cache (a request with a matching
// If-None-Match gets 304). An unknown asset is 404 asset_not_found; asset
// names are looked up among the compiled-in files only, so no request can
// reach the file system.
#pragma once

#include <span>
#include <string_view>

#include "kray/api/embedded_file.h"

namespace kray::api {

class Router;

// The explorer's files as compiled in, named relative to src/api/explorer/.
std::span<const EmbeddedFile> ExplorerAssets();

// The Content-Type served for a file name ("app.js" -> "text/javascript; charset=utf-8").
std::string_view ContentTypeFor(std::string_view file_name);

// GET / and GET /explorer/:file.
void RegisterExplorerRoutes(Router& router);

}  // namespace kray::api
