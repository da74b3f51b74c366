// WebSocket test client (see ws_client.h): one io_context driven only by the
// calling thread, a read always pending, completed messages queued.
#include "kray/testsupport/ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace kray::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<nlohmann::json> messages;
  bool reading = false;
  bool closed = false;
  int close_code = -1;
  std::size_t received = 0;

  void ReadNext() {
    if (closed || reading) return;
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        closed = true;
        if (ec == websocket::error::closed) close_code = ws.reason().code;
        return;
      }
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      ++received;
      auto j = nlohmann::json::parse(text, nullptr, false);
      messages.push_back(j.is_discarded() ? nlohmann::json(text) : j);
      ReadNext();
    });
  }

  // Runs handlers until `done()` or the timeout.
  template <class Pred>
  void RunUntil(Pred done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (ioc.stopped()) ioc.restart();
      ioc.run_one_until(deadline);
    }
  }

  bool Write(const std::string& bytes, bool text) {
    if (closed) return false;
    bool finished = false, ok = false;
    ws.text(text);
    ws.async_write(net::buffer(bytes), [&](beast::error_code ec, std::size_t) {
      finished = true;
      ok = !ec;
    });
    RunUntil([&] { return finished; }, std::chrono::seconds(10));
    return ok;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}

WsClient::~WsClient() {
  beast::error_code ec;
  impl_->ws.next_layer().close(ec);
}

bool WsClient::Connect(std::uint16_t port, std::string* why, int receive_buffer) {
  try {
    auto& sock = impl_->ws.next_layer();
    sock.open(tcp::v4());
    if (receive_buffer > 0) sock.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    impl_->ws.handshake("127.0.0.1:" + std::to_string(port), "/ws");
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    impl_->closed = true;
    return false;
  }
  impl_->ReadNext();
  return true;
}

bool WsClient::SendText(const std::string& text) {
  return impl_->Write(text, true);
}

bool WsClient::SendBinary(const std::string& bytes) {
  return impl_->Write(bytes, false);
}

std::optional<nlohmann::json> WsClient::Next(std::chrono::milliseconds timeout) {
  impl_->ReadNext();
  impl_->RunUntil([&] { return !impl_->messages.empty() || impl_->closed; }, timeout);
  if (impl_->messages.empty()) return std::nullopt;
  auto m = std::move(impl_->messages.front());
  impl_->messages.pop_front();
  return m;
}

std::optional<nlohmann::json> WsClient::NextOfType(const std::string& type, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = Next(left);
    if (!m) return std::nullopt;
    if (m->is_object() && m->value("type", "") == type) return m;
  }
}

bool WsClient::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->closed && std::chrono::steady_clock::now() < deadline) {
    impl_->messages.clear();
    impl_->ReadNext();
    impl_->RunUntil([&] { return impl_->closed || !impl_->messages.empty(); },
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  }
  return impl_->closed;
}

bool WsClient::closed() const {
  return impl_->closed;
}

int WsClient::close_code() const {
  return impl_->close_code;
}

std::size_t WsClient::received() const {
  return impl_->received;
}

void WsClient::Close() {
  if (impl_->closed) return;
  bool finished = false;
  impl_->ws.async_close(websocket::close_code::normal, [&](beast::error_code) { finished = true; });
  impl_->RunUntil([&] { return finished && impl_->closed; }, std::chrono::seconds(5));
}

}  // namespace kray::test
