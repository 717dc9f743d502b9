#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "server/http/listener.h"
#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session_registry.h"

namespace rt::http {

// An HTTP/1.1 server: owns the I/O threads, the listener and the router.
// Each I/O thread runs its own io_context, and a connection stays on one of them:
// its handlers never run concurrently, so sessions need no strand and no lock per
// request (a shared io_context run by every thread needed a strand per
// connection, whose executor copies and locks cost ~10% of a small request's CPU).
// Each I/O thread also sweeps its connections for expired timeouts periodically.
// Usage: construct with the routes, Listen, Start; Stop (or the destructor) stops
// accepting, lets in-flight requests finish within options.drain_timeout, closes the
// remaining connections and joins the threads.
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
  // Stops every I/O thread at once, wherever its requests are, as a killed process
  // would: nothing more is read, answered or written, and no drain. The sockets (the
  // listener's too) close when the server is destroyed. For the simulator's API-node
  // crash (docs/design.md §10); a later Stop does nothing.
  void Abort();

  // Connections open now, and those refused because max_connections were open
  // (thread-safe; for the nodes' /metrics).
  std::size_t OpenConnections() const { return registry_->open(); }
  std::uint64_t RefusedConnections() const { return registry_->refused(); }
  // The cap in force (options.max_connections, or the default it resolved to).
  std::size_t max_connections() const { return options_.max_connections; }

 private:
  struct IoThread {
    IoThread() : context(1), work(boost::asio::make_work_guard(context)), sweep(context) {}
    boost::asio::io_context context;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    boost::asio::steady_timer sweep;
    std::thread thread;
  };

  void ScheduleSweep(std::size_t shard);

  // Declared before the io_contexts: sessions destroyed with their pending handlers
  // still refer to them.
  Router router_;
  ServerOptions options_;
  std::shared_ptr<SessionRegistry> registry_;
  std::chrono::milliseconds sweep_period_;
  std::vector<std::unique_ptr<IoThread>> io_;
  std::shared_ptr<Listener> listener_;
  std::once_flag stopped_;
};

}  // namespace rt::http
