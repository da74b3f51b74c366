// Static explorer assets (see kray/api/explorer.h).
#include "kray/api/explorer.h"

#include <memory>
#include <string>
#include <vector>

#include "kray/api/json_util.h"
#include "kray/api/router.h"
#include "kray/core/bytes.h"
#include "kray/crypto/hash.h"

namespace kray::api {
namespace {

// Scripts, styles and fetches from this origin only; no inline code, no
// plugins, no framing, no form posts, no <base> rewriting. A value the page
// shows (an account id, a memo, an asset name) can therefore never run as
// script, even if it slipped past the page's own escaping.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Asset {
  std::string name;
  std::string_view body;
  std::string etag;  // a strong validator: the start of the body's SHA-256
};

std::string EtagOf(std::string_view body) {
  auto digest = crypto::Sha256(ByteSpan(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  return "\"" + ToHex(digest).substr(0, 32) + "\"";
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match is "*" or a comma-separated list of entity tags, compared
// weakly (RFC 9110, 13.1.2): an element matches when it is our tag, with or
// without "W/". Anything else (two tags run together, junk around a tag)
// matches nothing, so the asset is sent again.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (TrimOws(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    const std::size_t comma = if_none_match.find(',');
    std::string_view element = TrimOws(if_none_match.substr(0, comma));
    if (element.substr(0, 2) == "W/") element.remove_prefix(2);
    if (element == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

void AddSecurityHeaders(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HttpResponse Serve(const Asset& asset, const HttpRequest& req) {
  HttpResponse r;
  AddSecurityHeaders(r);
  r.headers.emplace_back("ETag", asset.etag);
  // Revalidate every time: a new krayd may serve new assets under the same
  // names, and a 304 costs one round trip.
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (!req.if_none_match.empty() && Matches(req.if_none_match, asset.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = std::string(ContentTypeFor(asset.name));
  r.body = std::string(asset.body);
  return r;
}

HttpResponse NotFound(std::string_view name) {
  HttpResponse r = ErrorResponse(Error::NotFound("asset_not_found", "no explorer asset '" + std::string(name) + "'"));
  AddSecurityHeaders(r);
  return r;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view file_name) {
  if (EndsWith(file_name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(file_name, ".js") || EndsWith(file_name, ".mjs")) return "text/javascript; charset=utf-8";
  if (EndsWith(file_name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(file_name, ".svg")) return "image/svg+xml";
  if (EndsWith(file_name, ".png")) return "image/png";
  if (EndsWith(file_name, ".json")) return "application/json";
  if (EndsWith(file_name, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void RegisterExplorerRoutes(Router& router) {
  auto assets = std::make_shared<std::vector<Asset>>();
  for (const auto& f : ExplorerAssets()) assets->push_back(Asset{std::string(f.name), f.data, EtagOf(f.data)});
  auto find = [assets](std::string_view name) -> const Asset* {
    for (const auto& a : *assets)
      if (a.name == name) return &a;
    return nullptr;
  };
  router.Add("GET", "/", [find](const HttpRequest& req, Reply reply) {
    const Asset* page = find("index.html");
    reply(page ? Serve(*page, req) : NotFound("index.html"));
  });
  router.Add("GET", "/explorer/:file", [find](const HttpRequest& req, Reply reply) {
    // The name is matched against the compiled-in list only: "..", "%2F"
    // and the like simply name no asset.
    std::string_view name = req.Param("file");
    const Asset* asset = find(name);
    reply(asset ? Serve(*asset, req) : NotFound(name));
  });
}

}  // namespace kray::api
