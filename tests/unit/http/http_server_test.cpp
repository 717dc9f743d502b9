#include "server/http/http_server.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_test_client.h"

namespace rt::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::HttpFetch;
using testing::HttpTestConnection;
using testing::MakeTestRequest;

// The timeout of the timeout tests. Each starts its clock before the write that arms
// the server's deadline, so a close earlier than the timeout is the server's error:
// the tests assert a lower bound (0.8x leaves room for clock granularity only).
constexpr std::chrono::milliseconds kShortTimeout{200};

// A server on 127.0.0.1:0 with a few routes exercising the plumbing.
struct TestServer {
  explicit TestServer(ServerOptions options = TestOptions()) {
    Router router;
    router.Add(Verb::get, "/echo", [](Request& request, Responder respond) {
      respond(MakeTextResponse(StatusCode::ok, std::string(request.target())));
    });
    router.Add(
        Verb::post, "/upload",
        [](Request& request, Responder respond) {
          respond(MakeTextResponse(StatusCode::ok, std::to_string(request.body().size())));
        },
        1024);
    // Answers from another thread once `release` is fulfilled, like the worker's writer.
    router.Add(Verb::get, "/later", [this](Request&, Responder respond) {
      entered.set_value();
      std::thread([respond, gate = release_future] {
        gate.wait();
        respond(MakeTextResponse(StatusCode::ok, "later"));
      }).detach();
    });
    // A body larger than a loopback socket's send buffer: the send cannot finish at once.
    router.Add(Verb::get, "/big", [](Request&, Responder respond) {
      std::string body(kBigBodySize, '\0');
      for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
      respond(MakeTextResponse(StatusCode::ok, std::move(body)));
    });
    router.Add(Verb::get, "/thread", [this](Request&, Responder respond) {
      {
        std::lock_guard lock(threads_mu);
        handler_threads.insert(std::this_thread::get_id());
      }
      respond(MakeTextResponse(StatusCode::ok, "ok"));
    });
    server = std::make_unique<HttpServer>(std::move(router), options);
    REQUIRE(server->Listen("127.0.0.1", 0).ok());
    port = server->LocalEndpoint().port();
    server->Start();
  }

  static ServerOptions TestOptions() {
    ServerOptions options;
    options.threads = 2;
    options.header_limit = 2048;
    return options;
  }

  static constexpr std::size_t kBigBodySize = 16 << 20;

  std::mutex threads_mu;
  std::set<std::thread::id> handler_threads;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
};

TEST_CASE("the server binds port 0 to a real port and answers", "[http][server]") {
  TestServer t;
  CHECK(t.port != 0);
  const auto response = HttpFetch(t.port, Verb::get, "/echo?x=1");
  REQUIRE(response);
  CHECK(response->result() == StatusCode::ok);
  CHECK(response->body() == "/echo?x=1");
}

TEST_CASE("a keep-alive connection serves several requests", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  for (int i = 0; i < 5; ++i) {
    const auto response =
        connection.Exchange(MakeTestRequest(Verb::get, "/echo?i=" + std::to_string(i)));
    REQUIRE(response);
    CHECK(response->body() == "/echo?i=" + std::to_string(i));
    CHECK(response->keep_alive());
  }
}

TEST_CASE("pipelined requests are answered in order", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  std::string pipeline;
  for (int i = 0; i < 4; ++i) {
    pipeline += "GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  pipeline += "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  REQUIRE(connection.WriteRaw(pipeline));
  for (int i = 0; i < 4; ++i) {
    const auto response = connection.Read();
    REQUIRE(response);
    CHECK(response->body() == "/echo?n=" + std::to_string(i));
  }
  const auto upload = connection.Read();
  REQUIRE(upload);
  CHECK(upload->body() == "3");
}

TEST_CASE("a long pipeline is answered in order", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  constexpr int kRequests = 300;
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) {
    pipeline += "GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  REQUIRE(connection.WriteRaw(pipeline));
  int in_order = 0;
  for (int i = 0; i < kRequests; ++i) {
    const auto response = connection.Read();
    REQUIRE(response);
    if (response->body() == "/echo?n=" + std::to_string(i)) ++in_order;
  }
  CHECK(in_order == kRequests);
}

TEST_CASE("a response larger than the socket buffer arrives whole and the connection goes on",
          "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  const auto big = connection.Exchange(MakeTestRequest(Verb::get, "/big"));
  REQUIRE(big);
  REQUIRE(big->body().size() == TestServer::kBigBodySize);
  bool intact = true;
  for (std::size_t i = 0; i < big->body().size(); ++i) {
    if (big->body()[i] != static_cast<char>('a' + i % 26)) {
      intact = false;
      break;
    }
  }
  CHECK(intact);
  const auto next = connection.Exchange(MakeTestRequest(Verb::get, "/echo?after"));
  REQUIRE(next);
  CHECK(next->body() == "/echo?after");
}

TEST_CASE("connections are spread over every I/O thread", "[http][server]") {
  ServerOptions options = TestServer::TestOptions();
  options.threads = 4;
  TestServer t(options);
  std::vector<std::unique_ptr<HttpTestConnection>> connections;
  for (int i = 0; i < 8; ++i) {
    connections.push_back(std::make_unique<HttpTestConnection>(t.port));
    REQUIRE(connections.back()->connected());
  }
  int answered = 0;
  for (auto& connection : connections) {
    const auto response = connection->Exchange(MakeTestRequest(Verb::get, "/thread"));
    if (response && response->result() == StatusCode::ok) ++answered;
  }
  CHECK(answered == 8);
  std::lock_guard lock(t.threads_mu);
  CHECK(t.handler_threads.size() == 4);
}

TEST_CASE("HTTP/1.0 closes unless keep-alive is asked for", "[http][server]") {
  TestServer t;
  HttpTestConnection kept(t.port);
  REQUIRE(kept.WriteRaw("GET /echo?a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const auto first = kept.Read();
  REQUIRE(first);
  CHECK(first->version() == 10);
  CHECK(first->keep_alive());
  const auto second = kept.Exchange(MakeTestRequest(Verb::get, "/echo?b"));
  REQUIRE(second);
  CHECK(second->body() == "/echo?b");

  HttpTestConnection closed(t.port);
  REQUIRE(closed.WriteRaw("GET /echo?c HTTP/1.0\r\n\r\n"));
  const auto only = closed.Read();
  REQUIRE(only);
  CHECK(only->body() == "/echo?c");
  CHECK_FALSE(only->keep_alive());
  CHECK(closed.WaitClosed());
}

TEST_CASE("a request expecting 100-continue gets it before sending the body", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  REQUIRE(connection.WriteRaw(
      "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  const auto interim = connection.Read();
  REQUIRE(interim);
  CHECK(interim->result() == StatusCode::continue_);
  REQUIRE(connection.WriteRaw("abc"));
  const auto response = connection.Read();
  REQUIRE(response);
  CHECK(response->body() == "3");
}

TEST_CASE("a body over the route's limit gets 413 and the connection closes", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  const auto response =
      connection.Exchange(MakeTestRequest(Verb::post, "/upload", std::string(2000, 'x')));
  REQUIRE(response);
  CHECK(response->result() == StatusCode::payload_too_large);
  CHECK(response->body().find("1024") != std::string::npos);
  CHECK(connection.WaitClosed());
}

TEST_CASE("a chunked body over the limit gets 413", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  std::string request = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
  request += "0\r\n\r\n";
  REQUIRE(connection.WriteRaw(request));
  const auto response = connection.Read();
  REQUIRE(response);
  CHECK(response->result() == StatusCode::payload_too_large);
}

TEST_CASE("a body on a path without a body limit gets 413", "[http][server]") {
  TestServer t;
  const auto response = HttpFetch(t.port, Verb::get, "/echo", "unexpected");
  REQUIRE(response);
  CHECK(response->result() == StatusCode::payload_too_large);
}

TEST_CASE("an oversized header gets 431", "[http][server]") {
  TestServer t;
  const auto response =
      HttpFetch(t.port, Verb::get, "/echo", "", {{"X-Filler", std::string(4000, 'h')}});
  REQUIRE(response);
  CHECK(response->result() == StatusCode::request_header_fields_too_large);
  CHECK(response->body().back() == '\n');
}

TEST_CASE("garbage gets 400 and closes only that connection", "[http][server]") {
  TestServer t;
  HttpTestConnection good(t.port);
  REQUIRE(good.connected());
  REQUIRE(good.Exchange(MakeTestRequest(Verb::get, "/echo?before")));

  HttpTestConnection bad(t.port);
  REQUIRE(bad.connected());
  REQUIRE(bad.WriteRaw("\x01\x02 not http at all\r\n\r\n"));
  const auto response = bad.Read();
  REQUIRE(response);
  CHECK(response->result() == StatusCode::bad_request);
  CHECK(bad.WaitClosed());

  const auto after = good.Exchange(MakeTestRequest(Verb::get, "/echo?after"));
  REQUIRE(after);
  CHECK(after->body() == "/echo?after");
}

TEST_CASE("the server answers 404 and 405 with a reason", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  const auto missing = connection.Exchange(MakeTestRequest(Verb::get, "/missing"));
  REQUIRE(missing);
  CHECK(missing->result() == StatusCode::not_found);
  const auto wrong = connection.Exchange(MakeTestRequest(Verb::delete_, "/echo"));
  REQUIRE(wrong);
  CHECK(wrong->result() == StatusCode::method_not_allowed);
  CHECK((*wrong)[boost::beast::http::field::allow] == "GET, HEAD");
  // Both errors leave the connection usable.
  const auto ok = connection.Exchange(MakeTestRequest(Verb::get, "/echo"));
  REQUIRE(ok);
  CHECK(ok->result() == StatusCode::ok);
}

// Found by tests/fuzz/fuzz_http_session: the 405 to a HEAD carried its reason as a
// body, which the client read as the start of the next answer.
TEST_CASE("an error answer to HEAD has no body and the next answer follows it intact",
          "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  REQUIRE(
      connection.WriteRaw("HEAD /upload HTTP/1.1\r\nHost: x\r\n\r\n"
                          "HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /echo?after HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto not_allowed = connection.Read(/*to_head=*/true);
  REQUIRE(not_allowed);
  CHECK(not_allowed->result() == StatusCode::method_not_allowed);
  CHECK(not_allowed->body().empty());
  const auto missing = connection.Read(/*to_head=*/true);
  REQUIRE(missing);
  CHECK(missing->result() == StatusCode::not_found);
  const auto after = connection.Read();
  REQUIRE(after);
  CHECK(after->result() == StatusCode::ok);
  CHECK(after->body() == "/echo?after");
}

TEST_CASE("HEAD on a GET path answers GET's status and length without the body", "[http][server]") {
  TestServer t;
  HttpTestConnection connection(t.port);
  REQUIRE(connection.connected());
  REQUIRE(
      connection.WriteRaw("HEAD /echo?abc HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /echo?after HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto head = connection.Read(/*to_head=*/true);
  REQUIRE(head);
  CHECK(head->result() == StatusCode::ok);
  CHECK(head->body().empty());
  // The length GET /echo?abc would send: the target.
  CHECK((*head)[beast_http::field::content_length] ==
        std::to_string(std::string("/echo?abc").size()));
  const auto after = connection.Read();
  REQUIRE(after);
  CHECK(after->result() == StatusCode::ok);
  CHECK(after->body() == "/echo?after");
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout, not before",
          "[http][server]") {
  ServerOptions options = TestServer::TestOptions();
  options.idle_timeout = kShortTimeout;
  TestServer t(options);
  HttpTestConnection connection(t.port);
  const auto start = Clock::now();
  REQUIRE(connection.Exchange(MakeTestRequest(Verb::get, "/echo")));
  REQUIRE(connection.WaitClosed());
  CHECK(Clock::now() - start >= kShortTimeout * 8 / 10);
}

TEST_CASE("a header that never completes is cut off by the header timeout, not before",
          "[http][server]") {
  ServerOptions options = TestServer::TestOptions();
  options.header_timeout = kShortTimeout;
  TestServer t(options);
  HttpTestConnection connection(t.port);
  const auto start = Clock::now();
  REQUIRE(connection.WriteRaw("GET /echo HTTP/1.1\r\nHost: x\r\n"));
  REQUIRE(connection.WaitClosed());
  CHECK(Clock::now() - start >= kShortTimeout * 8 / 10);
}

TEST_CASE("a body that stops arriving is cut off by the I/O timeout, not before",
          "[http][server]") {
  ServerOptions options = TestServer::TestOptions();
  options.io_timeout = kShortTimeout;
  TestServer t(options);
  HttpTestConnection connection(t.port);
  const auto start = Clock::now();
  REQUIRE(connection.WriteRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  REQUIRE(connection.WaitClosed());
  CHECK(Clock::now() - start >= kShortTimeout * 8 / 10);
}

TEST_CASE("a handler may respond later from another thread", "[http][server]") {
  TestServer t;
  // Bounded: if the request never arrives, the fetch below fails and the test with it.
  std::thread releaser([&] {
    t.entered.get_future().wait_for(20s);
    t.release.set_value();
  });
  const auto response = HttpFetch(t.port, Verb::get, "/later");
  releaser.join();
  REQUIRE(response);
  CHECK(response->body() == "later");
}

TEST_CASE("stop lets an in-flight request finish and closes idle connections", "[http][server]") {
  TestServer t;
  HttpTestConnection idle(t.port);
  REQUIRE(idle.Exchange(MakeTestRequest(Verb::get, "/echo")));

  HttpTestConnection busy(t.port);
  REQUIRE(busy.Write(MakeTestRequest(Verb::get, "/later")));
  REQUIRE(t.entered.get_future().wait_for(20s) == std::future_status::ready);
  std::thread stopper([&] { t.server->Stop(); });
  // Stop waits for the in-flight request; the idle connection is closed meanwhile.
  CHECK(idle.WaitClosed());
  t.release.set_value();
  const auto response = busy.Read();
  stopper.join();
  REQUIRE(response);
  CHECK(response->body() == "later");
  CHECK_FALSE(response->keep_alive());
  CHECK_FALSE(HttpFetch(t.port, Verb::get, "/echo").has_value());
}

}  // namespace
}  // namespace rt::http
