// Private to src/api: one WebSocket connection of the event feed (GET /ws),
// after Beast's advanced server example's websocket_session. The server
// hands it the socket and the upgrade request; it owns the connection from
// then on (the connection-cap slot is released by `on_end`).
//
// Bounds: a client message is at most max_message_bytes (else close 1009);
// one client message is handled at a time (the next is read only after the
// feed has handled the previous); at most max_queue messages wait to be
// written, past which the connection is closed with 4000 (slow consumer);
// the close handshake gets kCloseTimeout, then the socket is closed.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "beast_request.h"
#include "kray/api/event_feed.h"

namespace kray::api {

class RateLimiter;

class FeedSession : public FeedClient, public std::enable_shared_from_this<FeedSession> {
 public:
  // `feed` and `limiter` (nullable) must outlive the session; `on_end` runs
  // once, with this session, when it is destroyed.
  using EndCallback = std::function<void(FeedSession*)>;
  FeedSession(boost::asio::ip::tcp::socket&& socket, EventFeed& feed, RateLimiter* limiter, std::string client_ip,
              EndCallback on_end);
  ~FeedSession() override;

  // Completes the WebSocket handshake for `request`, then serves.
  void Start(BeastRequest request);
  // Closes with 1001 (going away). Thread-safe.
  void Shutdown();

  // FeedClient (called on the feed thread; re-enter the strand).
  void Send(std::vector<FeedMessage> messages) override;
  void Drop(int close_code, std::string reason) override;

 private:
  void OnAccept(boost::beast::error_code ec);
  void ReadNext();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void Enqueue(std::vector<FeedMessage> messages);
  void WriteNext();
  void OnWrite(boost::beast::error_code ec, std::size_t bytes);
  void Close(int code, std::string reason);
  void SendLocal(std::string text);  // a message the session itself answers

  // Declared first, so destroyed last: it may hold the last reference to
  // the server, whose io_contexts the socket and the timer below belong to
  // (the session can be released last on the feed's thread, after the
  // server has stopped).
  EndCallback on_end_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer close_timer_;
  EventFeed& feed_;
  RateLimiter* limiter_;
  std::string client_ip_;
  std::uint64_t id_ = 0;
  bool attached_ = false;
  bool writing_ = false;
  bool closing_ = false;
  std::deque<FeedMessage> queue_;  // waiting to be written
  FeedMessage in_flight_;          // being written (kept alive until the write completes)
};

}  // namespace kray::api
