#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/status.h"
#include "server/http/listener.h"
#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session.h"

namespace rt::http {

// An HTTP/1.1 server: owns the io_context, its threads, the listener and the router.
// Usage: construct with the routes, Listen, Start; Stop (or the destructor) stops
// accepting, lets in-flight requests finish within options.drain_timeout, closes the
// remaining connections and joins the threads.
// Other components (the API node's client) may run their own I/O on Context().
// Thread-safety: Listen/Start/Stop from one controlling thread; Stop is idempotent and
// must not be called from an I/O thread.
class HttpServer {
 public:
  HttpServer(Router router, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `host` is an IP address or a name (its first address); `port` 0 picks a free port.
  [[nodiscard]] Status Listen(const std::string& host, uint16_t port);
  // The bound address (the real port when Listen was given 0).
  boost::asio::ip::tcp::endpoint LocalEndpoint() const;

  // REQUIRES: Listen succeeded. Returns at once; the I/O threads serve until Stop.
  void Start();
  void Stop();

  boost::asio::io_context& Context() { return context_; }
  int threads() const { return thread_count_; }

 private:
  // Declared before the io_context: sessions destroyed with its pending handlers
  // still refer to them.
  Router router_;
  ServerOptions options_;
  std::shared_ptr<SessionRegistry> registry_;
  int thread_count_;
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
  std::once_flag stopped_;
};

}  // namespace rt::http
