#include "server/http/listener.h"

#include <boost/asio/dispatch.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace rt::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(std::vector<Session::Executor> contexts, const Router& router,
                   const ServerOptions& options, std::shared_ptr<SessionRegistry> registry)
    : contexts_(std::move(contexts)),
      acceptor_(contexts_.front()),
      retry_timer_(contexts_.front()),
      router_(router),
      options_(options),
      registry_(std::move(registry)) {}

Status Listener::Open(const tcp::endpoint& endpoint) {
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  boost::beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) local_ = acceptor_.local_endpoint(ec);
  if (ec) return Status::IoError("cannot listen on " + where + ": " + ec.message());
  return Status::Ok();
}

void Listener::Start() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->DoAccept(); });
}

void Listener::Stop() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::Refuse(Session::Socket& socket) {
  registry_->CountRefused();
  static constexpr std::string_view kBody = "too many connections: retry later\n";
  static_assert(kBody.size() == 34);
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: 34\r\n\r\n"
      "too many connections: retry later\n";
  boost::beast::error_code ignored;
  // A new socket's send buffer is empty: the send completes or fails at once.
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kBusy.data(), kBusy.size()), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

void Listener::DoAccept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(
      contexts_[next_shard_],
      [self = shared_from_this()](boost::beast::error_code ec, Session::Socket socket) {
        self->OnAccept(ec, std::move(socket));
      });
}

void Listener::OnAccept(boost::beast::error_code ec, Session::Socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (!ec && !registry_->stopping() && registry_->open() >= options_.max_connections) {
    // Only this thread adds sessions, so the count cannot pass the cap meanwhile.
    Refuse(socket);
  } else if (!ec && !registry_->stopping()) {
    boost::beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), next_shard_, router_, options_, registry_)->Run();
    next_shard_ = (next_shard_ + 1) % contexts_.size();
  }
  if (ec) {
    // Out of descriptors and the like: retry shortly rather than spin.
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait(
        [self = shared_from_this()](boost::beast::error_code) { self->DoAccept(); });
    return;
  }
  DoAccept();
}

}  // namespace rt::http
