// Private to src/api: a response body built once and then shared by every
// response that carries it (HttpResponse::shared_body).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "kray/core/result.h"

namespace kray::api {

// For a body that never changes once built and is too large to build per
// request: GET /api/rollup/genesis is ~200 MB at a million accounts, and
// building it per request held three copies each, so a few concurrent
// requests could exhaust the node's memory.
class SharedBody {
 public:
  // The body, built by `build` on the first call that needs it. Concurrent
  // callers wait for that one build; a failed build is not kept, so the next
  // call tries again.
  Result<std::shared_ptr<const std::string>> Get(const std::function<Result<std::string>()>& build) {
    std::lock_guard lock(mu_);
    if (body_) return body_;
    auto built = build();
    if (!built.ok()) return std::move(built).error();
    body_ = std::make_shared<const std::string>(std::move(*built));
    return body_;
  }

 private:
  std::mutex mu_;
  std::shared_ptr<const std::string> body_;
};

}  // namespace kray::api
