// A WebSocket client for the event feed's integration tests (Boost.Beast's
// client side): connects to krayd's GET /ws on loopback, sends text or
// binary messages, and reads messages with a timeout. Messages are read only
// while Next() runs, so a test that stops calling it is a client that does
// not read (its kernel receive buffer fills, then the server's queue).
//
// Not thread-safe: one thread per client.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kray::test {

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to 127.0.0.1:`port` and upgrades GET /ws. `receive_buffer`
  // (bytes, 0 = the kernel's default) is set before connecting, so a small
  // one stays small. False (with the reason in `why`) on failure, e.g. when
  // the server closes the connection at once (connection caps).
  bool Connect(std::uint16_t port, std::string* why, int receive_buffer = 0);
  bool SendText(const std::string& text);
  bool SendJson(const nlohmann::json& message) { return SendText(message.dump()); }
  bool SendBinary(const std::string& bytes);

  // The next message (parsed JSON; a non-JSON message is returned as a
  // string value), or nullopt if none arrived within `timeout` or the
  // connection is closed (then closed() is true).
  std::optional<nlohmann::json> Next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next message whose "type" is `type`, skipping others; nullopt on
  // timeout or close.
  std::optional<nlohmann::json> NextOfType(const std::string& type,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until the connection closes or `timeout` passes; true if closed.
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  bool closed() const;
  // The close code the server sent (1000, 1001, 1009, 4000, ...), or -1
  // when the connection ended without a close frame (reset, EOF).
  int close_code() const;
  // Number of messages read so far.
  std::size_t received() const;
  // Sends a close frame (1000) and waits briefly for the server's.
  void Close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kray::test
