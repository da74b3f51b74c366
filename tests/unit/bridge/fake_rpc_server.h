// A scripted HTTP server on a loopback port, for the faults a real Bitcoin
// Core never produces on purpose: malformed JSON, a reply that never comes,
// HTTP 500 with an HTML body, a dropped connection. Chain behaviour is tested
// against the real bitcoind (tests/integration/bitcoind_*_test.cpp).
//
// One thread accepts connections one at a time and serves requests on each
// until the client closes it, the script drops it, or the server stops. Every
// wait is bounded (poll with a timeout), so a test can always stop it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kray::bridge::testing {

struct FakeRequest {
  std::string head;  // request line and headers
  std::string body;
};

struct FakeReply {
  enum Action { kRespond, kHang, kDrop } action = kRespond;
  int status = 200;
  std::string body;

  static FakeReply Respond(int status, std::string body) { return {kRespond, status, std::move(body)}; }
  static FakeReply Hang() { return {kHang, 0, {}}; }  // never answers
  static FakeReply Drop() { return {kDrop, 0, {}}; }  // closes the connection unanswered
};

class FakeRpcServer {
 public:
  using Script = std::function<FakeReply(int request_number, const FakeRequest& request)>;

  explicit FakeRpcServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 8);
    thread_ = std::thread([this] { Run(); });
  }

  ~FakeRpcServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  int requests() const { return requests_; }
  std::vector<FakeRequest> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  // Waits up to 50 ms for `fd` to be readable; false on timeout or stop.
  bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 50) > 0;
  }

  void Run() {
    while (!stop_) {
      if (!Readable(listen_fd_)) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Serve(fd);
      ::close(fd);
    }
  }

  void Serve(int fd) {
    std::string buf;
    while (!stop_) {
      // Read one request: headers, then Content-Length bytes of body.
      std::size_t header_end;
      while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadSome(fd, buf)) return;
      }
      std::size_t length = 0;
      const std::string head = buf.substr(0, header_end);
      for (const char* name : {"Content-Length: ", "content-length: "}) {
        if (auto p = head.find(name); p != std::string::npos) length = std::stoul(head.substr(p + 16));
      }
      while (buf.size() < header_end + 4 + length) {
        if (!ReadSome(fd, buf)) return;
      }
      FakeRequest req{head, buf.substr(header_end + 4, length)};
      buf.erase(0, header_end + 4 + length);
      const int n = ++requests_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(req);
      }
      const FakeReply reply = script_(n, req);
      if (reply.action == FakeReply::kDrop) return;
      if (reply.action == FakeReply::kHang) {
        // Never answer; hold the connection until the client gives up.
        while (!stop_) {
          if (Readable(fd)) {
            char c;
            if (::recv(fd, &c, 1, 0) <= 0) return;
          }
        }
        return;
      }
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  bool ReadSome(int fd, std::string& buf) {
    while (!stop_) {
      if (!Readable(fd)) continue;
      char tmp[4096];
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<FakeRequest> seen_;
  std::thread thread_;
};

}  // namespace kray::bridge::testing
