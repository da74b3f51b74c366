// Private to src/api: writes JSON text straight into a string, for the hot
// responses (receipts) where building a nlohmann tree and dumping it cost
// more than the rest of formatting.
//
// The output is exactly what nlohmann's dump(-1, ' ', false,
// error_handler_t::replace) gives for the same object: members sorted by key
// (nlohmann::json keeps objects in a std::map), no whitespace, the same
// string escapes. Clients therefore see the same bytes whichever way a
// response was built, and tests compare the two.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace kray::api {

// Appends `s` as a JSON string literal, quotes included. Bytes that are not
// valid UTF-8 become U+FFFD, as nlohmann's replace handler does.
void AppendJsonString(std::string& out, std::string_view s);

// One JSON object, built member by member and written by Finish(). Keys are
// held as views: they must outlive Finish(). A key added twice keeps its
// last value (as assigning a nlohmann object member does).
class JsonObjectWriter {
 public:
  JsonObjectWriter& String(std::string_view key, std::string_view value);
  JsonObjectWriter& Unsigned(std::string_view key, std::uint64_t value);
  JsonObjectWriter& Signed(std::string_view key, std::int64_t value);
  JsonObjectWriter& Bool(std::string_view key, bool value);
  // `json` is an already-written value (an object, an array, a number).
  JsonObjectWriter& Raw(std::string_view key, std::string json);

  // The object's text, members in key order. Leaves the writer empty.
  std::string Finish();

 private:
  static constexpr std::size_t kInsertionSortMax = 32;
  // A receipt has up to 15 members, a batch item's 17: in place, with no
  // reallocation as it grows.
  boost::container::small_vector<std::pair<std::string_view, std::string>, 20> members_;
};

}  // namespace kray::api
