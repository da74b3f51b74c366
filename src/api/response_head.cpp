#include "response_head.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

namespace kray::api {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return boost::beast::iequals(a, b);
}

bool Replaced(const KeyValues* extra, std::string_view name) {
  if (!extra) return false;
  for (const auto& [k, v] : *extra)
    if (SameName(k, name)) return true;
  return false;
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void AppendNumber(std::string& out, std::size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// Beast's fields::set erases every field of that name and appends the new
// one, so among several extra fields of one name only the last is kept.
bool LastOfItsName(const KeyValues& extra, std::size_t i) {
  for (std::size_t j = i + 1; j < extra.size(); ++j)
    if (SameName(extra[i].first, extra[j].first)) return false;
  return true;
}

}  // namespace

void AppendResponseHead(std::string& out, const ResponseHead& head) {
  // Beast 1.74's parser refuses versions other than 1.0 and 1.1; should one
  // reach here, below 1.1 is answered as 1.0 and the rest as 1.1, each with
  // its keep-alive rule (Beast's keep_alive()).
  const bool http10 = head.version < 11;
  out.append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  AppendNumber(out, static_cast<std::size_t>(head.status));
  out.push_back(' ');
  auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(head.status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");

  if (!Replaced(head.headers, "Server")) AppendField(out, "Server", "krayd");
  if (!head.content_type.empty() && !Replaced(head.headers, "Content-Type"))
    AppendField(out, "Content-Type", head.content_type);
  if (!Replaced(head.headers, "Access-Control-Allow-Origin")) AppendField(out, "Access-Control-Allow-Origin", "*");
  if (head.headers) {
    for (std::size_t i = 0; i < head.headers->size(); ++i) {
      const auto& [k, v] = (*head.headers)[i];
      if (LastOfItsName(*head.headers, i)) AppendField(out, k, v);
    }
  }
  // keep_alive(): HTTP/1.1 says "close" when not keeping the connection,
  // HTTP/1.0 says "keep-alive" when keeping it.
  if (!http10 && !head.keep_alive) AppendField(out, "Connection", "close");
  if (http10 && head.keep_alive) AppendField(out, "Connection", "keep-alive");
  // RFC 9110 8.6: never in a 1xx or 204 response, and in a 304 only as the
  // length a 200 would have had, which the caller does not know here (Beast
  // 1.74 writes "Content-Length: 0" in 204 and 304: where this head differs).
  const bool no_length = (head.status >= 100 && head.status < 200) || head.status == 204 || head.status == 304;
  if (!no_length) {
    out.append("Content-Length: ");
    AppendNumber(out, head.content_length);
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace kray::api
