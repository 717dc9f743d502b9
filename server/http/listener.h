#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>

#include "config/status.h"
#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session.h"

namespace rt::http {

// Accepts connections on one endpoint and starts a Session for each, every session on
// its own strand of the io_context.
// Ownership: shared (pending accepts keep it alive); Router, options and io_context
// must outlive it. Thread-safety: Stop may be called from any thread.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& context, const Router& router, const ServerOptions& options,
           std::shared_ptr<SessionRegistry> registry);

  // Binds and listens; `port` 0 picks a free port (see LocalEndpoint).
  [[nodiscard]] Status Open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint LocalEndpoint() const { return local_; }

  void Start();
  void Stop();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& context_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::ip::tcp::endpoint local_;
  const Router& router_;
  const ServerOptions& options_;
  std::shared_ptr<SessionRegistry> registry_;
};

}  // namespace rt::http
