// Connection and body-byte caps for the HTTP server (see connection_limits.h).
#include "kray/api/connection_limits.h"

#include <algorithm>

namespace kray::api {

const char* AdmissionCapName(Admission a) {
  switch (a) {
    case Admission::kTooManyConnections:
      return "maxconnections";
    case Admission::kTooManyFromClient:
      return "maxconnectionsperip";
    case Admission::kAdmitted:
      break;
  }
  return "";
}

ConnectionLimits::ConnectionLimits(ConnectionCaps caps) : caps_(caps) {}

Admission ConnectionLimits::Open(const std::string& client_ip) {
  std::lock_guard lock(mu_);
  if (open_.load(std::memory_order_relaxed) >= caps_.max_connections) return Admission::kTooManyConnections;
  auto it = per_ip_.find(client_ip);
  if (it != per_ip_.end() && it->second >= caps_.max_connections_per_ip) return Admission::kTooManyFromClient;
  if (it == per_ip_.end()) it = per_ip_.emplace(client_ip, 0).first;
  ++it->second;
  open_.fetch_add(1, std::memory_order_relaxed);
  return Admission::kAdmitted;
}

void ConnectionLimits::Close(const std::string& client_ip) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(client_ip);
  if (it == per_ip_.end()) return;           // not admitted: nothing to undo
  if (--it->second == 0) per_ip_.erase(it);  // the map stays as small as the set of connected clients
  open_.fetch_sub(1, std::memory_order_relaxed);
}

bool ConnectionLimits::ReserveBody(std::size_t bytes) {
  if (bytes == 0) return true;
  if (bytes > caps_.max_buffered_body_bytes) return false;
  std::size_t reserved = body_bytes_.load(std::memory_order_relaxed);
  do {
    // Written to avoid overflow: bytes may be anything a client declared.
    if (reserved > caps_.max_buffered_body_bytes - bytes) return false;
  } while (!body_bytes_.compare_exchange_weak(reserved, reserved + bytes, std::memory_order_relaxed));
  return true;
}

void ConnectionLimits::ReleaseBody(std::size_t bytes) {
  if (bytes == 0) return;  // most releases (a request without a body): no write to the shared line
  std::size_t reserved = body_bytes_.load(std::memory_order_relaxed);
  std::size_t left;
  do {
    left = reserved - std::min(bytes, reserved);  // never below zero
  } while (!body_bytes_.compare_exchange_weak(reserved, left, std::memory_order_relaxed));
}

std::size_t ConnectionLimits::open_connections() const {
  return open_.load(std::memory_order_relaxed);
}

std::size_t ConnectionLimits::open_connections_from(const std::string& client_ip) const {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(client_ip);
  return it == per_ip_.end() ? 0 : it->second;
}

std::size_t ConnectionLimits::reserved_body_bytes() const {
  return body_bytes_.load(std::memory_order_relaxed);
}

std::uint64_t LogThrottle::Record(Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++pending_;
  if (logged_ && now - last_ < interval_) return 0;
  logged_ = true;
  last_ = now;
  std::uint64_t n = pending_;
  pending_ = 0;
  return n;
}

}  // namespace kray::api
