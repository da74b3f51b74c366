// One WebSocket connection of the event feed (see feed_session.h).
#include "feed_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <chrono>

#include "kray/api/json_util.h"
#include "kray/api/rate_limiter.h"

namespace kray::api {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {
// How long a close handshake may take before the socket is simply closed
// (a client that reads nothing never sees our close frame).
constexpr std::chrono::seconds kCloseTimeout{5};
// Client messages are read in chunks and counted, so one over the limit is
// refused after at most this much more; Beast's own limit (which fails the
// connection without draining it, so the client often sees a reset instead
// of 1009) is set far above.
constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kBeastMessageMax = std::size_t{64} << 20;
// The kernel's send buffer of a feed connection: fixed (no autotuning up to
// tcp_wmem's 4 MiB), so a client that stops reading is found out by the
// queue bound soon, and a feed connection's kernel memory is bounded too.
constexpr int kSendBufferBytes = 128 * 1024;
}  // namespace

FeedSession::FeedSession(net::ip::tcp::socket&& socket, EventFeed& feed, RateLimiter* limiter, std::string client_ip,
                         EndCallback on_end)
    : on_end_(std::move(on_end)),
      ws_(std::move(socket)),
      close_timer_(ws_.get_executor()),
      feed_(feed),
      limiter_(limiter),
      client_ip_(std::move(client_ip)) {}

FeedSession::~FeedSession() {
  if (attached_) feed_.Detach(id_);
  if (on_end_) on_end_(this);
}

void FeedSession::Start(BeastRequest request) {
  // Pings an idle client and closes it when it answers nothing (300 s);
  // the opening and closing handshakes get 30 s.
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "krayd"); }));
  ws_.read_message_max(kBeastMessageMax);
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().set_option(net::socket_base::send_buffer_size(kSendBufferBytes), ignored);
  ws_.async_accept(request, beast::bind_front_handler(&FeedSession::OnAccept, shared_from_this()));
}

void FeedSession::OnAccept(beast::error_code ec) {
  if (ec) return;  // the handshake failed; the session ends with this handler
  id_ = feed_.Attach(shared_from_this());
  attached_ = true;
  ReadNext();
}

void FeedSession::ReadNext() {
  if (closing_) return;
  ws_.async_read_some(buffer_, kReadChunk, beast::bind_front_handler(&FeedSession::OnRead, shared_from_this()));
}

void FeedSession::OnRead(beast::error_code ec, std::size_t) {
  if (ec) return;  // closed by the client, by us, or by a timeout
  if (buffer_.size() > feed_.options().max_message_bytes) {
    // async_close reads and discards the rest of the message, so the client
    // gets our 1009 rather than a reset.
    buffer_.consume(buffer_.size());
    return Close(kCloseTooBig, "message_too_big");
  }
  if (!ws_.is_message_done()) return ReadNext();
  if (!ws_.got_text()) {
    buffer_.consume(buffer_.size());
    SendLocal(R"({"type":"error","code":"invalid_json","message":"messages must be text frames holding JSON"})");
    return ReadNext();
  }
  if (limiter_ && limiter_->enabled() && !limiter_->Allow(client_ip_).allowed) {
    buffer_.consume(buffer_.size());
    SendLocal(R"({"type":"error","code":"rate_limited","message":"rate limit exceeded, retry later"})");
    return ReadNext();
  }
  std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  feed_.Receive(id_, std::move(text),
                [self = shared_from_this()] { net::post(self->ws_.get_executor(), [self] { self->ReadNext(); }); });
}

void FeedSession::SendLocal(std::string text) {
  Enqueue({std::make_shared<const std::string>(std::move(text))});
}

void FeedSession::Send(std::vector<FeedMessage> messages) {
  net::post(ws_.get_executor(), [self = shared_from_this(), messages = std::move(messages)]() mutable {
    self->Enqueue(std::move(messages));
  });
}

void FeedSession::Enqueue(std::vector<FeedMessage> messages) {
  if (closing_) return;
  if (queue_.size() + (writing_ ? 1 : 0) + messages.size() > feed_.options().max_queue) {
    feed_.CountSlowDrop();
    spdlog::info("feed: closing a slow client ({}): more than {} messages waited", client_ip_,
                 feed_.options().max_queue);
    return Close(kCloseSlowConsumer, "slow_consumer");
  }
  for (auto& m : messages) queue_.push_back(std::move(m));
  if (!writing_) WriteNext();
}

void FeedSession::WriteNext() {
  if (queue_.empty() || closing_) return;
  writing_ = true;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  ws_.text(true);
  ws_.async_write(net::buffer(*in_flight_), beast::bind_front_handler(&FeedSession::OnWrite, shared_from_this()));
}

void FeedSession::OnWrite(beast::error_code ec, std::size_t) {
  writing_ = false;
  in_flight_.reset();
  if (ec) return;
  WriteNext();
}

void FeedSession::Drop(int close_code, std::string reason) {
  net::post(ws_.get_executor(), [self = shared_from_this(), close_code, reason = std::move(reason)]() mutable {
    self->Close(close_code, std::move(reason));
  });
}

void FeedSession::Shutdown() {
  Drop(kCloseGoingAway, "going_away: the node is shutting down");
}

// Sends the close frame (after the message being written, if any) and
// gives the handshake kCloseTimeout; then the socket is closed, which ends
// every pending operation and so the session.
void FeedSession::Close(int code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  queue_.clear();
  if (attached_) {
    feed_.Detach(id_);
    attached_ = false;
  }
  close_timer_.expires_after(kCloseTimeout);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
  websocket::close_reason why;
  why.code = static_cast<std::uint16_t>(code);  // close_reason keeps the code as a plain integer
  why.reason = std::string_view(reason).substr(0, why.reason.max_size());  // at most 123 bytes (RFC 6455)
  ws_.async_close(why, [self = shared_from_this()](beast::error_code) { self->close_timer_.cancel(); });
}

}  // namespace kray::api
