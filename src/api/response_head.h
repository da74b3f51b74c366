// Internal: an HTTP/1.x response head (status line and header fields) written
// into one string, so that a response goes out as one buffer.
//
// Beast's serializer builds a header-field list (one allocation per field) and
// a serializer state for every response, then walks a seven-part buffer
// sequence; for a small JSON answer that bookkeeping cost more than the JSON
// itself (docs/BENCHMARKS.md, seventeenth round). The head written here is
// byte for byte what Beast's serializer writes for the same message after
// keep_alive() and prepare_payload() (response_head_test.cpp compares the
// two), except that a 204 or 304 carries no Content-Length (RFC 9110
// section 8.6; Beast 1.74 writes "Content-Length: 0").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "kray/api/http.h"

namespace kray::api {

struct ResponseHead {
  int status = 200;
  // The request's, as Beast's message::version(): below 11 is answered as
  // HTTP/1.0, the rest as HTTP/1.1.
  unsigned version = 11;
  bool keep_alive = true;
  std::string_view content_type;       // omitted when empty
  const KeyValues* headers = nullptr;  // extra fields, after the fixed ones
  std::size_t content_length = 0;      // the body's size (also for HEAD, whose body is not sent)
};

// Appends the head, ending with the blank line, to `out`. The fixed fields
// are Server, Content-Type and Access-Control-Allow-Origin; an extra field
// with one of those names replaces it (as Beast's fields::set does). 1xx, 204
// and 304 responses carry no Content-Length.
void AppendResponseHead(std::string& out, const ResponseHead& head);

}  // namespace kray::api
