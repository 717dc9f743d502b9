#pragma once

// A tiny scriptable HTTP/1.1 server on 127.0.0.1 for client-side tests (the client
// connection here, the forwarder's fake worker in tests/unit/api). Header-only so
// that both test executables can use it without touching tests/support.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "server/http/types.h"

namespace rt::testing {

// Runs its own io_context on one thread; the handler is called on that thread.
// Stop() (also run by the destructor) closes the listener and every connection.
class ClientTestServer {
 public:
  struct Reply {
    bool answer = true;         // false: read the request and never answer
    http::Response response{};  // sent when answer
    bool close_after = false;   // close the connection after answering
  };
  using Handler = std::function<Reply(const http::Request&)>;

  // port 0 picks a free port; a fixed port restarts a server where a stopped one was.
  explicit ClientTestServer(Handler handler, uint16_t port = 0)
      : handler_(std::move(handler)), guard_(ioc_.get_executor()), acceptor_(ioc_) {
    namespace asio = boost::asio;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~ClientTestServer() { Stop(); }

  uint16_t port() const { return port_; }
  uint64_t accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  uint64_t requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // Closes every open connection (as a server's idle keep-alive timeout would).
  void CloseConnections() {
    RunOnIo([this] {
      for (auto& weak : sessions_) {
        if (auto s = weak.lock()) {
          boost::system::error_code ignored;
          s->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
          s->socket.close(ignored);
        }
      }
      sessions_.clear();
    });
  }

  void Stop() {
    if (!thread_.joinable()) return;
    RunOnIo([this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    CloseConnections();
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

 private:
  struct Session {
    explicit Session(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;
    http::Request request;
    http::Response response;
  };

  void RunOnIo(std::function<void()> fn) {
    std::promise<void> done;
    boost::asio::post(ioc_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  void DoAccept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        ++accepted_;
      }
      auto session = std::make_shared<Session>(std::move(s));
      sessions_.push_back(session);
      DoRead(session);
      DoAccept();
    });
  }

  void DoRead(std::shared_ptr<Session> s) {
    s->request = {};
    boost::beast::http::async_read(
        s->socket, s->buffer, s->request, [this, s](boost::system::error_code ec, size_t) {
          if (ec) return;
          {
            std::lock_guard lock(mutex_);
            ++requests_;
          }
          Reply reply = handler_(s->request);
          if (!reply.answer) {
            hung_.push_back(s);  // keep it open, silent
            return;
          }
          s->response = std::move(reply.response);
          s->response.version(11);
          s->response.keep_alive(!reply.close_after);
          s->response.prepare_payload();
          const bool close = reply.close_after;
          boost::beast::http::async_write(
              s->socket, s->response, [this, s, close](boost::system::error_code wec, size_t) {
                if (wec) return;
                if (close) {
                  boost::system::error_code ignored;
                  s->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
                  s->socket.close(ignored);
                  return;
                }
                DoRead(s);
              });
        });
  }

  Handler handler_;
  boost::asio::io_context ioc_;
  // Keeps run() going while there is no connection, so RunOnIo always runs.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::list<std::weak_ptr<Session>> sessions_;  // io thread only
  std::list<std::shared_ptr<Session>> hung_;    // io thread only
  mutable std::mutex mutex_;
  uint64_t accepted_ = 0;
  uint64_t requests_ = 0;
};

// An io_context run by one thread, like a node's client runtime.
class TestIoThread {
 public:
  TestIoThread() : guard_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
  ~TestIoThread() {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  boost::asio::io_context& ioc() { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Waits until `done()` holds or `timeout` passes; returns the last value of done().
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace rt::testing
