#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "server/http/types.h"

namespace rt::http {

struct ClientOptions {
  // Longest a connect may take; a request's own deadline may cut it shorter.
  std::chrono::milliseconds connect_timeout{2000};
  // Default time a request may take from Send to its whole response: waiting in the
  // queue, connecting, writing and reading all count against it.
  std::chrono::milliseconds request_timeout{5000};
  // Largest response body accepted (a worker's /worker/slices can be large).
  uint64_t body_limit = 256ull << 20;
  // Resend once a request whose reused connection was closed before any byte of the
  // answer (see Reconnection). Off for callers whose requests are not idempotent:
  // the simulator's POSTs, where a resend to a restarted node could count an event
  // the crashed one had already spooled.
  bool resend_on_stale_close = true;
};

// A persistent keep-alive HTTP/1.1 client connection to one host:port (the API
// node's link to one worker). Requests are sent one at a time in the order of Send;
// later ones wait in a FIFO. The host is resolved once, on first use (a failed
// resolve is retried on the next request).
//
// Deadlines: a request's deadline is fixed when Send is called (now + its timeout),
// not when it reaches the head of the queue, so that a caller's "answer within T"
// holds however many requests are ahead of it. Connecting gets the smaller of
// connect_timeout and what is left; writing and reading get what is left. A request
// whose deadline passed while it waited fails with kUnavailable "timed out waiting
// for the connection" without being sent. Because the request ahead never runs past
// its own deadline, a queued request completes by its own deadline whenever
// deadlines grow in queue order (equal timeouts, as every user in rt has per
// connection); a shorter timeout queued behind a longer one fails when it reaches
// the head.
//
// Reconnection: the TCP connection is opened on demand and reopened after an error
// or a `Connection: close`. If a request on a connection that was reused from an
// earlier request fails with "peer closed" before any byte of the response arrived
// (the server dropped an idle keep-alive connection), it is resent once on a fresh
// connection. That resend is safe only for idempotent requests; every request rt
// sends is idempotent (GETs, and batches deduplicated by stream seq). The resend
// keeps the request's deadline. Timeouts are never resent here: the caller decides.
//
// Ownership and threads: create with Create() and hold the shared_ptr; operations
// in flight keep the object alive. Send and Close may be called from any thread;
// all work and every callback run on the connection's own strand of `ioc`, so
// callbacks must not block.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  // `status` is ok when a complete response arrived (whatever its HTTP status);
  // otherwise kUnavailable with "host:port: what: why" and an empty response. `what`
  // is "resolve" or "connect" (the message contains ": resolve: " or ": connect: ")
  // when the request was not written on this attempt; with resend_on_stale_close off
  // that means it was never sent at all.
  using Callback = std::function<void(Status status, Response response)>;

  static std::shared_ptr<ClientConnection> Create(boost::asio::io_context& ioc, std::string host,
                                                  uint16_t port, ClientOptions options = {});

  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Queues `request` and calls `callback` exactly once with its outcome. Version,
  // Host, keep-alive and Content-Length are filled in. `timeout` (if non-zero)
  // replaces options.request_timeout for this request; the deadline is now + timeout.
  void Send(Request request, Callback callback,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Closes the socket and fails the current and every queued request with
  // kUnavailable "closed"; later Sends fail the same way.
  void Close();

  // "host:port", for messages.
  const std::string& peer() const { return peer_; }
  // TCP connections established so far (tests check keep-alive reuse with it).
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  // Requests sent and not yet answered (queued or in flight); a pool picks the
  // least loaded connection with it.
  size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Pending {
    Request request;
    Callback callback;
    TimePoint queued;
    TimePoint deadline;
  };

  ClientConnection(boost::asio::io_context& ioc, std::string host, uint16_t port,
                   ClientOptions options);

  void StartNext();
  void DoResolve();
  void OnResolve(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void DoConnect();
  void OnConnect(boost::beast::error_code ec);
  void DoWrite();
  void OnWrite(boost::beast::error_code ec);
  void DoRead();
  void OnRead(boost::beast::error_code ec);
  void OnIoError(boost::beast::error_code ec, const char* what);
  void Finish(Status status, Response response);
  // Calls `pending`'s callback once, after counting it as answered.
  void Complete(Pending& pending, Status status, Response response);
  void CloseSocket();

  std::string host_;
  std::string port_text_;
  std::string peer_;
  ClientOptions options_;
  boost::beast::tcp_stream stream_;
  boost::asio::ip::tcp::resolver resolver_;
  std::optional<boost::asio::ip::tcp::resolver::results_type> endpoints_;
  boost::beast::flat_buffer buffer_;
  std::optional<beast_http::response_parser<beast_http::string_body>> parser_;

  // Strand state.
  std::deque<Pending> queue_;
  std::optional<Pending> current_;
  bool connected_ = false;
  bool closed_ = false;
  bool reused_ = false;  // current_ went out on a connection used before
  bool resent_ = false;  // current_ was already resent once
  std::atomic<uint64_t> connects_{0};
  std::atomic<size_t> outstanding_{0};
};

}  // namespace rt::http
