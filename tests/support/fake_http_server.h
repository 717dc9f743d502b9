#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_test_client.h"

namespace rt::testing {

// What a FakeHttpServer saw of one request, for assertions after the fact.
struct SeenRequest {
  std::string method;
  std::string target;
  std::string cache_control;
  std::string body;
};

// A scriptable HTTP/1.1 server on 127.0.0.1 for client-side tests: rtctl's
// HttpClient, the nodes' ClientConnection, the forwarder's fake worker. It runs its
// own io_context on one thread and calls the handler there, one request at a time.
// Catch2 is not thread-safe, so a handler never REQUIREs or CHECKs: it returns a
// reply, and the test asserts on seen() and the counters on its own thread.
// Keep-alive is honoured as the client asks (unless the reply says close_after).
// Stop() (also run by the destructor) closes the listener and every connection.
// Thread-safety: the accessors and CloseConnections may be called from any thread
// but the server's own.
class FakeHttpServer {
 public:
  struct Reply {
    bool answer = true;        // false: read the request and never answer
    TestResponse response{};   // sent when answer
    bool close_after = false;  // close the connection after answering
  };
  using Handler = std::function<Reply(const TestRequest&)>;

  // A text/plain reply with `status` and `body`.
  static Reply Text(int status, std::string body);
  // A handler answering every request with Text(status, body).
  static Handler Always(int status, std::string body);

  // Port 0 picks a free port; a fixed port restarts a server where a stopped one was.
  explicit FakeHttpServer(Handler handler, uint16_t port = 0);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t connections() const;  // accepted so far
  uint64_t request_count() const;
  std::vector<SeenRequest> seen() const;

  // Closes every open connection (as a server's idle keep-alive timeout would).
  void CloseConnections();
  void Stop();

 private:
  struct Session;

  void RunOnIo(const std::function<void()>& fn);
  void DoAccept();
  void DoRead(std::shared_ptr<Session> session);

  Handler handler_;
  boost::asio::io_context ioc_;
  // Keeps run() going while there is no connection, so RunOnIo always runs.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::list<std::weak_ptr<Session>> sessions_;  // io thread only
  std::list<std::shared_ptr<Session>> hung_;    // io thread only: never answered
  mutable std::mutex mutex_;
  uint64_t connections_ = 0;
  std::vector<SeenRequest> seen_;
  std::thread thread_;  // last: starts once every other member exists
};

// A loopback URL where nothing listens: a port that was just bound and closed.
std::string ClosedPortUrl();

}  // namespace rt::testing
