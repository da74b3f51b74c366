// Router: literal-over-parameter matching (see router.h) and the 404/405
// error bodies. No Beast here.
#include "kray/api/router.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <span>

#include "kray/api/json_util.h"

namespace kray::api {

PathSegments SplitPath(std::string_view path) {
  PathSegments out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  std::size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

void Router::Add(std::string method, std::string_view pattern, Handler handler) {
  std::vector<Segment> segs;
  for (auto s : SplitPath(pattern)) {
    Segment seg;
    seg.is_param = !s.empty() && s.front() == ':';
    seg.text = std::string(seg.is_param ? s.substr(1) : s);
    segs.push_back(std::move(seg));
  }
  for (auto& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      r.handler = std::move(handler);
      return;
    }
  }
  const std::size_t length = segs.size();
  const std::string second = length >= 2 && !segs[1].is_param ? segs[1].text : std::string();
  const bool any_second = length < 2 || segs[1].is_param;
  const auto index = static_cast<std::uint32_t>(routes_.size());
  routes_.push_back(Route{std::move(method), std::string(pattern), std::move(segs), std::move(handler)});
  // Indexed once it is in routes_: an allocation that fails leaves no index
  // to a route that is not there.
  if (by_length_.size() <= length) by_length_.resize(length + 1);
  Candidates& c = by_length_[length];
  if (any_second)
    c.any_second.push_back(index);
  else
    c.by_second[second].push_back(index);
}

std::vector<Router::RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(RouteInfo{r.method, r.pattern});
  return out;
}

namespace {

// -1 if a is more specific than b, 1 if less, 0 if equal (left-to-right,
// first literal-vs-parameter difference decides).
template <class Seg>
int CompareSpecificity(const std::vector<Seg>& a, const std::vector<Seg>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].is_param != b[i].is_param) return a[i].is_param ? 1 : -1;
  }
  return 0;
}

}  // namespace

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  auto parts = SplitPath(path);
  if (path.empty() || path.front() != '/') return m;
  const Route* best_any = nullptr;     // most specific route matching the path
  const Route* best_method = nullptr;  // most specific route with this method
  if (parts.size() >= by_length_.size()) return m;
  const Candidates& c = by_length_[parts.size()];
  std::span<const std::uint32_t> listed;
  if (parts.size() >= 2) {
    if (auto it = c.by_second.find(parts[1]); it != c.by_second.end()) listed = it->second;
  }
  const std::span<const std::uint32_t> any = c.any_second;
  boost::container::small_vector<const Route*, 8> matching;
  // The two lists merged, so routes are visited in registration order as
  // when every route was scanned (equally specific routes are in the same
  // list anyway: the second segment is a literal in both or in neither).
  for (std::size_t a = 0, b = 0; a < listed.size() || b < any.size();) {
    const bool from_listed = b == any.size() || (a < listed.size() && listed[a] < any[b]);
    const Route& r = routes_[from_listed ? listed[a++] : any[b++]];
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = r.segments[i];
      ok = seg.is_param ? !parts[i].empty() : seg.text == parts[i];
    }
    if (!ok) continue;
    matching.push_back(&r);
    if (!best_any || CompareSpecificity(r.segments, best_any->segments) < 0) best_any = &r;
    if (r.method == method && (!best_method || CompareSpecificity(r.segments, best_method->segments) < 0)) {
      best_method = &r;
    }
  }
  if (!best_any) return m;
  m.path_known = true;
  // A less specific route with the right method must not shadow a more
  // specific literal route: GET /api/transaction/estimate-gas is a 405, not a
  // lookup of a transaction called "estimate-gas".
  const Route* chosen = best_method;
  if (best_method && CompareSpecificity(best_any->segments, best_method->segments) < 0) chosen = nullptr;
  for (const Route* r : matching) {
    if (CompareSpecificity(r->segments, best_any->segments) != 0) continue;
    if (m.allow.find(r->method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r->method;
    }
  }
  if (chosen) {
    m.handler = &chosen->handler;
    m.index = static_cast<int>(chosen - routes_.data());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (chosen->segments[i].is_param) {
        m.params.emplace_back(chosen->segments[i].text, PercentDecode(parts[i], false));
      }
    }
  }
  return m;
}

void Router::Dispatch(HttpRequest& req, Reply reply, int* route_out) const {
  auto m = Find(req.method, req.path);
  if (route_out) *route_out = m.index;
  if (!m.path_known) {
    HttpResponse r;
    r.status = 404;
    Json j = {
        {"error", "route not found: " + req.method + " " + req.path}, {"code", "route_not_found"}, {"path", req.path}};
    r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    return reply(std::move(r));
  }
  if (!m.handler) {
    HttpResponse r;
    r.status = 405;
    Json j = {{"error", "method " + req.method + " not allowed on " + req.path + " (allowed: " + m.allow + ")"},
              {"code", "method_not_allowed"},
              {"path", req.path}};
    r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    r.headers.emplace_back("Allow", m.allow);
    return reply(std::move(r));
  }
  req.params = std::move(m.params);
  req.route = m.index;
  // The handler boundary: nothing a handler throws may escape into the
  // server. Handlers validate input themselves, so anything caught here is a
  // bug and is logged as one.
  try {
    (*m.handler)(req, reply);
  } catch (const std::exception& e) {
    spdlog::error("handler {} {} threw: {}", req.method, req.path, e.what());
    reply(ErrorResponse(Error::Internal("internal error")));
  } catch (...) {
    spdlog::error("handler {} {} threw a non-std exception", req.method, req.path);
    reply(ErrorResponse(Error::Internal("internal error")));
  }
}

}  // namespace kray::api
