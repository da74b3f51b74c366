// Assembly and serving of the OpenAPI document (see kray/api/openapi.h).
#include "kray/api/openapi.h"

#include <memory>

#include "kray/api/handlers.h"
#include "kray/api/router.h"

namespace kray::api {
namespace {

Error Invalid(std::string_view part, const std::string& why) {
  return Error{ErrorKind::kInternal, "openapi_invalid", "OpenAPI part " + std::string(part) + ": " + why};
}

// Adds every member of `from` to `into`, refusing a name `into` already has:
// two modules must never describe the same path or component.
Status MergeUnique(Json& into, const Json& from, std::string_view part, const std::string& what) {
  if (!from.is_object()) return Invalid(part, what + " must be an object");
  for (const auto& [name, value] : from.items()) {
    if (into.contains(name)) return Invalid(part, what + " '" + name + "' is already defined by another part");
    into[name] = value;
  }
  return Ok();
}

Status MergeTags(Json& doc, const Json& tags, std::string_view part) {
  if (!tags.is_array()) return Invalid(part, "tags must be an array");
  Json& into = doc["tags"];
  if (!into.is_array()) into = Json::array();
  for (const auto& tag : tags) {
    for (const auto& existing : into)
      if (existing.value("name", "") == tag.value("name", "")) return Invalid(part, "tag defined twice");
    into.push_back(tag);
  }
  return Ok();
}

Status MergePart(Json& doc, const Json& part, std::string_view name) {
  if (!part.is_object()) return Invalid(name, "not a JSON object");
  for (const auto& [key, value] : part.items()) {
    if (key == "paths") {
      if (auto s = MergeUnique(doc["paths"], value, name, "path"); !s.ok()) return s;
    } else if (key == "components") {
      if (!value.is_object()) return Invalid(name, "components must be an object");
      for (const auto& [kind, members] : value.items()) {
        if (auto s = MergeUnique(doc["components"][kind], members, name, "component " + kind); !s.ok()) return s;
      }
    } else if (key == "tags") {
      if (auto s = MergeTags(doc, value, name); !s.ok()) return s;
    } else {
      return Invalid(name, "unexpected top-level key '" + key + "' (a part holds paths, components, tags)");
    }
  }
  return Ok();
}

}  // namespace

Result<Json> AssembleOpenApi(std::span<const EmbeddedFile> parts) {
  if (parts.empty()) return Invalid("(none)", "no parts");
  Json doc = Json::parse(parts.front().data, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Invalid(parts.front().name, "not a JSON object");
  if (!doc["paths"].is_object()) doc["paths"] = Json::object();
  for (const auto& file : parts.subspan(1)) {
    Json part = Json::parse(file.data, nullptr, /*allow_exceptions=*/false);
    if (part.is_discarded()) return Invalid(file.name, "not valid JSON");
    if (auto s = MergePart(doc, part, file.name); !s.ok()) return std::move(s).error();
  }
  return doc;
}

std::string OpenApiPath(std::string_view pattern) {
  std::string out;
  for (auto segment : SplitPath(pattern)) {
    out += '/';
    if (!segment.empty() && segment.front() == ':') {
      out += '{';
      out += segment.substr(1);
      out += '}';
    } else {
      out += segment;
    }
  }
  return out.empty() ? "/" : out;
}

void RegisterOpenApiRoutes(Router& router, const ApiContext& ctx) {
  auto body = std::make_shared<HttpResponse>();
  auto doc = AssembleOpenApi(OpenApiParts());
  if (doc.ok()) {
    if (!ctx.version.empty()) (*doc)["info"]["version"] = ctx.version;
    *body = JsonResponse(*doc);
  } else {
    *body = ErrorResponse(doc.error());
  }
  router.Add("GET", "/api/openapi.json", [body](const HttpRequest&, Reply reply) { reply(*body); });
}

}  // namespace kray::api
