#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "server/http/router.h"
#include "server/http/server_options.h"
#include "server/http/types.h"

namespace rt::http {

class Session;

// The set of open sessions of one server, so that Stop can close the idle ones and
// wait for the busy ones to finish. Thread-safe.
class SessionRegistry {
 public:
  void Add(Session* session);
  void Remove(Session* session);

  // Marks the server as stopping and asks every session to close once idle.
  void BeginStop();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Waits until no session is open or `deadline` passes; true if none is open.
  bool WaitEmpty(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable empty_;
  std::unordered_set<Session*> sessions_;
  std::atomic<bool> stopping_{false};
};

// One HTTP/1.1 connection: reads a request (header first, so that the route decides
// the body limit), hands it to the route's handler, writes the response, and loops
// while the connection is kept alive. One request at a time: pipelined requests wait
// in the read buffer and are answered in order.
// Ownership: shared; pending operations and the Responder handed to a handler keep
// it alive. All of its state is touched only on its strand (the stream's executor).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket, const Router& router, const ServerOptions& options,
          std::shared_ptr<SessionRegistry> registry);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run();
  // Called (through the registry) when the server stops: closes the connection if it is
  // waiting for a next request; otherwise the current response will be the last.
  void OnServerStop();

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosed };

  void DoReadRequest();
  void OnFirstBytes(boost::beast::error_code ec, std::size_t bytes);
  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec, std::size_t bytes);
  void DoReadBody(const Router::Route& route);
  void CallHandler(const Router::Route& route);
  // Answers `response` and closes the connection afterwards.
  void SendFinal(Response&& response);
  void DoWrite(Response&& response);
  void OnWrite(boost::beast::error_code ec, std::size_t bytes);
  // Maps a read error to a final response (400/413/431) or closes silently.
  void OnReadError(boost::beast::error_code ec);
  void Close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  Response response_;
  std::string head_;  // the serialized head of response_; its capacity is reused
  const Router& router_;
  const ServerOptions& options_;
  std::shared_ptr<SessionRegistry> registry_;
  State state_ = State::kIdle;
  bool keep_alive_ = true;
};

}  // namespace rt::http
