// Admission control for the HTTP server: caps on open connections (in total
// and per client IP) and on request-body bytes buffered at once across all
// connections. Past a cap the server refuses the connection or the request
// instead of running out of file descriptors or memory. Plain C++ (no Beast),
// so it is unit-tested without sockets.
//
// Thread-safety: every method of ConnectionLimits and LogThrottle may be
// called concurrently from any thread. Opening and closing a connection take
// a mutex (the per-IP counts); the body budget and the open count, which
// every request reads or changes on both HTTP workers, are atomics, so a
// request takes no lock shared between the workers' cores.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace kray::api {

struct ConnectionCaps {
  std::size_t max_connections = 512;                            // open connections, all clients
  std::size_t max_connections_per_ip = 64;                      // open connections from one client IP
  std::size_t max_buffered_body_bytes = std::size_t{64} << 20;  // request bodies being received, all connections
};

enum class Admission {
  kAdmitted,
  kTooManyConnections,  // max_connections reached
  kTooManyFromClient,   // max_connections_per_ip reached for this IP
};

// "maxconnections" / "maxconnectionsperip": the config key whose cap refused.
const char* AdmissionCapName(Admission a);

class ConnectionLimits {
 public:
  explicit ConnectionLimits(ConnectionCaps caps);
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // Counts a new connection from `client_ip` if both connection caps allow
  // it and returns kAdmitted; otherwise counts nothing and names the cap.
  // Every kAdmitted must be matched by exactly one Close(client_ip).
  Admission Open(const std::string& client_ip);
  void Close(const std::string& client_ip);

  // Reserves `bytes` of the body budget before a body is read. Returns false,
  // reserving nothing, if the reservations would then exceed
  // max_buffered_body_bytes. A reservation of 0 always succeeds. Every
  // successful reservation must be released with the same count.
  bool ReserveBody(std::size_t bytes);
  void ReleaseBody(std::size_t bytes);

  std::size_t open_connections() const;
  std::size_t open_connections_from(const std::string& client_ip) const;
  std::size_t reserved_body_bytes() const;

 private:
  const ConnectionCaps caps_;
  mutable std::mutex mu_;
  std::atomic<std::size_t> open_{0};                     // changed under mu_, read without it
  std::unordered_map<std::string, std::size_t> per_ip_;  // guarded by mu_; no zero entries
  std::atomic<std::size_t> body_bytes_{0};               // lock-free: reserved by compare-exchange
};

// At most one log line per `interval` for a recurring event (a failing
// accept, refused connections), each line carrying how many events it stands
// for, so a flood cannot fill the disk with log.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // Counts one event at `now`. Returns 0 if no line is due; otherwise the
  // number of events since the previous line (including this one), which the
  // caller logs. The first event is always due.
  std::uint64_t Record(Clock::time_point now);

 private:
  const Clock::duration interval_;
  std::mutex mu_;
  bool logged_ = false;        // guarded by mu_
  Clock::time_point last_{};   // guarded by mu_
  std::uint64_t pending_ = 0;  // guarded by mu_
};

}  // namespace kray::api
