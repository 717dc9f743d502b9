#include "server/http/client_connection.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <utility>

namespace rt::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// Errors that mean the server closed a connection we believed open. On a reused
// connection they are what a keep-alive timeout on the server side looks like.
bool IsPeerClosed(const beast::error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

}  // namespace

std::shared_ptr<ClientConnection> ClientConnection::Create(asio::io_context& ioc, std::string host,
                                                           uint16_t port, ClientOptions options) {
  return std::shared_ptr<ClientConnection>(
      new ClientConnection(ioc, std::move(host), port, options));
}

ClientConnection::ClientConnection(asio::io_context& ioc, std::string host, uint16_t port,
                                   ClientOptions options)
    : host_(std::move(host)),
      port_text_(std::to_string(port)),
      peer_(host_ + ":" + port_text_),
      options_(options),
      stream_(asio::make_strand(ioc)),
      resolver_(stream_.get_executor()) {}

void ClientConnection::Send(Request request, Callback callback, std::chrono::milliseconds timeout) {
  request.version(11);
  request.set(beast_http::field::host, peer_);
  request.keep_alive(true);
  request.prepare_payload();
  if (timeout.count() <= 0) timeout = options_.request_timeout;
  const TimePoint now = std::chrono::steady_clock::now();
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), pending = Pending{std::move(request), std::move(callback),
                                                           now, now + timeout}]() mutable {
               if (self->closed_) {
                 self->Complete(pending, Status::Unavailable(self->peer_ + ": closed"), Response{});
                 return;
               }
               self->queue_.push_back(std::move(pending));
               if (!self->current_) self->StartNext();
             });
}

void ClientConnection::Close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closed_ = true;
    self->resolver_.cancel();
    self->CloseSocket();
    std::deque<Pending> queued;
    queued.swap(self->queue_);
    for (Pending& p : queued) {
      self->Complete(p, Status::Unavailable(self->peer_ + ": closed"), Response{});
    }
    // current_, if any, fails through its aborted operation.
  });
}

void ClientConnection::StartNext() {
  // A request that used up its time behind others is not sent: its caller has given
  // up on it, and sending it would only delay the requests behind it.
  const TimePoint now = std::chrono::steady_clock::now();
  while (!queue_.empty() && queue_.front().deadline <= now) {
    Pending expired = std::move(queue_.front());
    queue_.pop_front();
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - expired.queued).count();
    Complete(expired,
             Status::Unavailable(peer_ + ": timed out waiting for the connection (queued " +
                                 std::to_string(waited) + " ms behind earlier requests)"),
             Response{});
  }
  if (queue_.empty()) return;
  current_.emplace(std::move(queue_.front()));
  queue_.pop_front();
  resent_ = false;
  reused_ = connected_;
  if (connected_) {
    DoWrite();
  } else {
    DoConnect();
  }
}

void ClientConnection::DoResolve() {
  resolver_.async_resolve(
      host_, port_text_,
      [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
        self->OnResolve(ec, std::move(results));
      });
}

void ClientConnection::OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (ec) {
    Finish(Status::Unavailable(peer_ + ": resolve: " + ec.message()), Response{});
    return;
  }
  endpoints_ = std::move(results);
  DoConnect();
}

void ClientConnection::DoConnect() {
  if (closed_) {
    Finish(Status::Unavailable(peer_ + ": closed"), Response{});
    return;
  }
  if (!endpoints_) {
    DoResolve();
    return;
  }
  const TimePoint now = std::chrono::steady_clock::now();
  if (now >= current_->deadline) {
    Finish(Status::Unavailable(peer_ + ": connect: timed out"), Response{});
    return;
  }
  buffer_.clear();
  stream_.expires_at(std::min(now + options_.connect_timeout, current_->deadline));
  stream_.async_connect(*endpoints_,
                        [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                          self->OnConnect(ec);
                        });
}

void ClientConnection::OnConnect(beast::error_code ec) {
  if (ec) {
    CloseSocket();
    const char* why = ec == beast::error::timeout ? "timed out" : nullptr;
    Finish(Status::Unavailable(peer_ + ": connect: " + (why ? why : ec.message())), Response{});
    return;
  }
  beast::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
  connected_ = true;
  connects_.fetch_add(1, std::memory_order_relaxed);
  DoWrite();
}

void ClientConnection::DoWrite() {
  // Covers the write and the read of the response.
  stream_.expires_at(current_->deadline);
  beast_http::async_write(
      stream_, current_->request,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
}

void ClientConnection::OnWrite(beast::error_code ec) {
  if (ec) {
    OnIoError(ec, "write");
    return;
  }
  DoRead();
}

void ClientConnection::DoRead() {
  parser_.emplace();
  parser_->body_limit(options_.body_limit);
  beast_http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void ClientConnection::OnRead(beast::error_code ec) {
  if (ec) {
    OnIoError(ec, "read");
    return;
  }
  Response response = parser_->release();
  parser_.reset();
  if (!response.keep_alive()) CloseSocket();
  Finish(Status::Ok(), std::move(response));
}

void ClientConnection::OnIoError(beast::error_code ec, const char* what) {
  // A partial response means the server did see the request: still safe to resend
  // for rt's idempotent requests, but a half-read response is a server problem worth
  // surfacing, so only a clean close before the response is retried.
  const bool stale = options_.resend_on_stale_close && reused_ && !resent_ && !closed_ &&
                     IsPeerClosed(ec) && (parser_ == std::nullopt || !parser_->got_some());
  CloseSocket();
  if (stale) {
    resent_ = true;
    reused_ = false;
    DoConnect();
    return;
  }
  std::string why = ec == beast::error::timeout ? std::string("timed out") : ec.message();
  if (closed_) why = "closed";
  Finish(Status::Unavailable(peer_ + ": " + what + ": " + why), Response{});
}

void ClientConnection::Finish(Status status, Response response) {
  Pending done = std::move(*current_);
  current_.reset();
  Complete(done, std::move(status), std::move(response));
  if (!closed_) {
    StartNext();
  } else {
    std::deque<Pending> queued;
    queued.swap(queue_);
    for (Pending& p : queued) Complete(p, Status::Unavailable(peer_ + ": closed"), Response{});
  }
}

void ClientConnection::Complete(Pending& pending, Status status, Response response) {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  pending.callback(std::move(status), std::move(response));
}

void ClientConnection::CloseSocket() {
  parser_.reset();
  buffer_.clear();
  if (connected_ || stream_.socket().is_open()) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }
  connected_ = false;
}

}  // namespace rt::http
