#pragma once

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/session_registry.h"
#include "server/http/types.h"

namespace rt::http {

// One HTTP/1.1 connection: reads a request (header first, so that the route decides
// the body limit), hands it to the route's handler, writes the response, and loops
// while the connection is kept alive. One request at a time: pipelined requests wait
// in the read buffer and are answered in order.
//
// Built for the hot path: a session lives on one single-threaded io_context, so it
// needs no strand; it parses what a read brought in place (no composed read per
// request), writes a response with one non-blocking send when the socket takes it
// (the usual case), and keeps its timeouts as a deadline that the I/O thread's
// periodic sweep (SessionRegistry::CloseExpired) enforces, instead of re-arming a
// timer per phase.
//
// States (state_) and what moves between them:
//
//   state      | meaning                                  | left by
//   -----------+------------------------------------------+-------------------------------
//   kIdle      | between requests, waiting for the first  | first bytes read → kReading;
//              | byte (idle timeout)                      | server stop, EOF, deadline →
//              |                                          | kClosed
//   kReading   | a request is partly read (header timeout,| request complete → kHandling;
//              | then the I/O timeout for the body)       | no route, 413, 431, bad request
//              |                                          | → kWriting (an error response)
//   kHandling  | the route's handler owns the request;    | Respond → kWriting
//              | no deadline (the handler answers)        |
//   kWriting   | the response is being sent (I/O timeout) | sent: keep-alive → kIdle (next
//              |                                          | request), else lingering close
//              |                                          | → kClosed
//   kClosed    | socket shut; later callbacks do nothing  | (final)
//
// Flags:
//   keep_alive_           the current request allows another one on this connection;
//                         cleared by a final response (SendFinal) or a server stop.
//   in_handler_           the handler is still on the stack: a response written from
//                         inside it must not start reading the next request yet.
//   next_request_due_     a response finished while in_handler_; CallHandler starts
//                         the next request once the handler returned.
//   header_deadline_due_  the first read of a request left its header incomplete and
//                         the header timeout has not been set yet (set lazily: one
//                         clock read saved per request).
//   deadline_             when the sweep (SessionRegistry::CloseExpired) closes the
//                         session; time_point::max() while a handler runs.
//
// Ownership: shared; pending operations and the Responder handed to a handler keep
// it alive. Thread-safety: all state is touched only on the session's I/O thread;
// Run, OnServerStop and Respond may be called from any thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using Executor = boost::asio::io_context::executor_type;
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
  using Clock = std::chrono::steady_clock;

  Session(Socket&& socket, std::size_t shard, const Router& router, const ServerOptions& options,
          std::shared_ptr<SessionRegistry> registry);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();
  // Called (through the registry) when the server stops: closes the connection if it is
  // waiting for a next request; otherwise the current response will be the last.
  void OnServerStop();
  // Writes the response to the current request (the Responder's target).
  void Respond(Response&& response);

  // For the registry's sweep, on the session's thread.
  bool ExpiredAt(Clock::time_point now) const { return deadline_ <= now; }
  void OnDeadline() { Close(); }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosed };  // see the class table

  void DoReadRequest();
  void ReadMore();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  // Feeds the buffered bytes to the parser; routes once the header is complete and
  // calls the handler once the request is.
  void ParseBuffered();
  // Checks the route and the body size of a complete header; false if it answered.
  bool OnHeader();
  void CallHandler();
  // Answers `response` and closes the connection afterwards.
  void SendFinal(Response&& response);
  void DoWrite(Response&& response);
  void OnWritten();
  // Maps a parse error to a final response (400/413/431).
  void OnParseError(boost::beast::error_code ec);
  void LingerAndClose();
  void Close();

  void SetDeadline(std::chrono::milliseconds timeout) { deadline_ = Clock::now() + timeout; }
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }

  Socket socket_;
  const std::size_t shard_;
  boost::beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  const Router::Route* route_ = nullptr;  // of the current request, once its header is read
  Response response_;
  std::string head_;  // the serialized head of response_; its capacity is reused
  const Router& router_;
  const ServerOptions& options_;
  std::shared_ptr<SessionRegistry> registry_;
  Clock::time_point deadline_ = Clock::time_point::max();
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  // Set while the handler runs: a response written meanwhile must not start the
  // next request under the handler's feet (it may still hold the request).
  bool in_handler_ = false;
  bool next_request_due_ = false;
  // The first bytes of a request arrived and its header deadline is not set yet.
  bool header_deadline_due_ = false;
};

}  // namespace rt::http
