#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace rt::cli::testing {

namespace beast_http = boost::beast::http;

// What the in-test server saw of one request.
struct SeenRequest {
  std::string method;
  std::string target;
  std::string cache_control;
  std::string body;
};

// A tiny blocking HTTP/1.1 server on 127.0.0.1 (ephemeral port) for HttpClient
// tests: one thread, one connection at a time, keep-alive honoured. The handler
// maps a request to (status, body). Records every request and counts accepted
// connections.
class TestHttpServer {
 public:
  using Handler = std::function<std::pair<int, std::string>(const SeenRequest&)>;

  explicit TestHttpServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        port_(acceptor_.local_endpoint().port()),
        thread_([this] { Serve(); }) {}

  ~TestHttpServer() {
    stopping_ = true;
    // shutdown() wakes a thread blocked in accept or read on Linux.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    const int fd = connection_fd_.load();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  unsigned short port() const { return port_; }

  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (!stopping_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      connection_fd_ = socket.native_handle();
      ServeConnection(socket);
      connection_fd_ = -1;
      socket.close(ec);
    }
  }

  void ServeConnection(boost::asio::ip::tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    while (!stopping_) {
      beast_http::request<beast_http::string_body> request;
      boost::system::error_code ec;
      beast_http::read(socket, buffer, request, ec);
      if (ec) return;
      SeenRequest seen{std::string(request.method_string()), std::string(request.target()),
                       std::string(request[beast_http::field::cache_control]), request.body()};
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(seen);
      }
      const auto [status, body] = handler_(seen);
      beast_http::response<beast_http::string_body> response(
          static_cast<beast_http::status>(status), request.version());
      response.set(beast_http::field::content_type, "text/plain");
      response.keep_alive(request.keep_alive());
      response.body() = body;
      response.prepare_payload();
      beast_http::write(socket, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_;
  mutable std::mutex mutex_;
  std::vector<SeenRequest> requests_;
  std::atomic<int> connections_{0};
  std::atomic<int> connection_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts after every other member exists
};

// A URL on 127.0.0.1 where nothing listens: a port that was just bound and closed.
inline std::string ClosedPortUrl() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const unsigned short port = acceptor.local_endpoint().port();
  acceptor.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_; }

 private:
  int64_t now_ms_;
};

}  // namespace rt::cli::testing
