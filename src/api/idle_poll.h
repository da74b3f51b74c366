// Internal: when an HTTP worker polls its io_context instead of sleeping in
// epoll (server.cpp's RunWorker, ServerOptions::idle_poll).
//
// A single client sending one request after another sends the next within
// tens of µs of its answer; a worker asleep in epoll_wait then pays a wake-up
// of about as much on this project's VM. Polling for a short window after
// each handler saves it (docs/BENCHMARKS.md, thirty-third round), but a
// client slower than the window would make every request pay the window in
// CPU: the policy pauses polling after windows that saved nothing.
#pragma once

#include <sched.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>

namespace kray::api {

// After kMisses windows in a row that saved no wake-up, the worker polls only
// after every kProbe-th handler, until a window saves one again.
class IdlePollPolicy {
 public:
  static constexpr int kMisses = 8;
  static constexpr std::uint64_t kProbe = 64;
  // Called after each handler the worker ran: true if it should poll now.
  bool AfterHandler() {
    ++handlers_;
    return misses_ < kMisses || handlers_ % kProbe == 0;
  }
  // What the poll it asked for found.
  void Polled(bool saved_a_wake_up) { misses_ = saved_a_wake_up ? 0 : misses_ + 1; }

 private:
  int misses_ = 0;
  std::uint64_t handlers_ = 0;
};

// Runs `io`'s ready handlers until it has found none for `window` (or `io`
// stops), yielding the core between tries. True if work arrived after it had
// found none: a wake-up saved.
inline bool PollUntilIdle(boost::asio::io_context& io, std::chrono::microseconds window) {
  using Clock = std::chrono::steady_clock;
  bool idle = false, saved = false;
  for (auto until = Clock::now() + window; !io.stopped() && Clock::now() < until;) {
    if (io.poll() > 0) {
      saved = saved || idle;
      idle = false;
      until = Clock::now() + window;
    } else {
      idle = true;
      sched_yield();
    }
  }
  return saved;
}

}  // namespace kray::api
