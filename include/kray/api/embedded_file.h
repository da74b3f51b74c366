// A file compiled into the binary (cmake/KrayEmbed.cmake): the OpenAPI
// document's parts and the explorer's static assets. Nothing is read from
// disk at run time, so the node serves the same bytes wherever it runs.
#pragma once

#include <string_view>

namespace kray::api {

struct EmbeddedFile {
  std::string_view name;  // path relative to the embedded directory, "openapi/core.json"
  std::string_view data;  // the file's bytes (static storage)
};

}  // namespace kray::api
