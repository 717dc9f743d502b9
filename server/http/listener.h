#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "base/status.h"
#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session.h"

namespace rt::http {

// Accepts connections on one endpoint and starts a Session for each, spreading them
// over the I/O threads' io_contexts in turn (a session stays on its context).
// At options.max_connections open sessions, a newly accepted connection gets a
// minimal 503 (one non-blocking send, never waited for) and is closed at once,
// counted in the registry: idle or slow connections cannot take every descriptor.
// REQUIRES: options.max_connections > 0 (HttpServer resolves the default).
// Ownership: shared (pending accepts keep it alive); Router, options and the
// io_contexts must outlive it. Thread-safety: Stop may be called from any thread.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Accepts on the first context; `contexts` are the sessions' shards, in order.
  Listener(std::vector<Session::Executor> contexts, const Router& router,
           const ServerOptions& options, std::shared_ptr<SessionRegistry> registry);

  // Binds and listens; `port` 0 picks a free port (see LocalEndpoint).
  [[nodiscard]] Status Open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint LocalEndpoint() const { return local_; }

  void Start();
  void Stop();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, Session::Socket socket);
  void Refuse(Session::Socket& socket);

  std::vector<Session::Executor> contexts_;
  std::size_t next_shard_ = 0;
  boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Session::Executor> acceptor_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    Session::Executor>
      retry_timer_;
  boost::asio::ip::tcp::endpoint local_;
  const Router& router_;
  const ServerOptions& options_;
  std::shared_ptr<SessionRegistry> registry_;
};

}  // namespace rt::http
