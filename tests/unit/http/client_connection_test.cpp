#include "server/http/client_connection.h"

#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

#include "tests/unit/http/client_test_server.h"

namespace rt {
namespace {

using http::ClientConnection;
using testing::ClientTestServer;

using IoThread = testing::TestIoThread;

struct Outcome {
  Status status;
  http::Response response;
};

// Sends one request and waits (with a deadline) for its outcome.
Outcome SendAndWait(ClientConnection& conn, http::Verb verb, const std::string& target,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
  http::Request req{verb, target, 11};
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  conn.Send(
      std::move(req),
      [promise](Status s, http::Response r) {
        promise->set_value({std::move(s), std::move(r)});
      },
      timeout);
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

ClientTestServer::Reply Echo(const http::Request& req) {
  ClientTestServer::Reply reply;
  reply.response.result(http::StatusCode::ok);
  reply.response.body() = std::string(req.target());
  return reply;
}

TEST_CASE("a client connection reuses one TCP connection for many requests", "[http][client]") {
  ClientTestServer server(Echo);
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", server.port());
  for (int i = 0; i < 20; ++i) {
    const std::string target = "/echo/" + std::to_string(i);
    Outcome out = SendAndWait(*conn, http::Verb::get, target);
    REQUIRE(out.status.ok());
    CHECK(out.response.result() == http::StatusCode::ok);
    CHECK(out.response.body() == target);
  }
  CHECK(server.accepted() == 1);
  CHECK(conn->connects() == 1);
}

TEST_CASE("a client connection answers queued requests in order", "[http][client]") {
  ClientTestServer server(Echo);
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "localhost", server.port());
  std::mutex mutex;
  std::vector<std::string> bodies;
  std::promise<void> all_done;
  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) {
    http::Request req{http::Verb::post, "/q/" + std::to_string(i), 11};
    req.body() = "payload";
    conn->Send(std::move(req), [&](Status s, http::Response r) {
      std::lock_guard lock(mutex);
      bodies.push_back(s.ok() ? r.body() : s.message());
      if (bodies.size() == kCount) all_done.set_value();
    });
  }
  REQUIRE(all_done.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  std::lock_guard lock(mutex);
  for (int i = 0; i < kCount; ++i) CHECK(bodies[i] == "/q/" + std::to_string(i));
  CHECK(conn->connects() == 1);
}

TEST_CASE("a client connection reconnects after the server closed an idle connection",
          "[http][client]") {
  ClientTestServer server(Echo);
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", server.port());
  REQUIRE(SendAndWait(*conn, http::Verb::get, "/a").status.ok());
  server.CloseConnections();
  Outcome out = SendAndWait(*conn, http::Verb::get, "/b");
  REQUIRE(out.status.ok());
  CHECK(out.response.body() == "/b");
  CHECK(conn->connects() == 2);
  CHECK(server.accepted() == 2);
}

TEST_CASE("a client connection honours Connection: close from the server", "[http][client]") {
  ClientTestServer server([](const http::Request& req) {
    ClientTestServer::Reply reply = Echo(req);
    reply.close_after = true;
    return reply;
  });
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    Outcome out = SendAndWait(*conn, http::Verb::get, "/c");
    REQUIRE(out.status.ok());
    CHECK(out.response.body() == "/c");
  }
  CHECK(conn->connects() == 3);
}

TEST_CASE("a client connection times out on a server that never answers", "[http][client]") {
  ClientTestServer server([](const http::Request&) {
    ClientTestServer::Reply reply;
    reply.answer = false;
    return reply;
  });
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", server.port());
  Outcome out = SendAndWait(*conn, http::Verb::get, "/slow", std::chrono::milliseconds(100));
  CHECK(out.status.code() == Status::Code::kUnavailable);
  CHECK(out.status.message().find("timed out") != std::string::npos);
  CHECK(server.requests() == 1);  // a timeout is not resent
}

TEST_CASE("a client connection reports a refused connection and recovers when the server starts",
          "[http][client]") {
  uint16_t port = 0;
  {
    ClientTestServer probe(Echo);
    port = probe.port();
  }
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", port);
  Outcome refused = SendAndWait(*conn, http::Verb::get, "/x");
  CHECK(refused.status.code() == Status::Code::kUnavailable);
  CHECK(refused.status.message().find("127.0.0.1:" + std::to_string(port) + ": connect") !=
        std::string::npos);
  ClientTestServer server(Echo, port);
  Outcome ok = SendAndWait(*conn, http::Verb::get, "/y");
  REQUIRE(ok.status.ok());
  CHECK(ok.response.body() == "/y");
}

TEST_CASE("a closed client connection fails pending and later requests", "[http][client]") {
  ClientTestServer server(Echo);
  IoThread io;
  auto conn = ClientConnection::Create(io.ioc(), "127.0.0.1", server.port());
  conn->Close();
  Outcome out = SendAndWait(*conn, http::Verb::get, "/z");
  CHECK(out.status.code() == Status::Code::kUnavailable);
  CHECK(out.status.message().find("closed") != std::string::npos);
}

}  // namespace
}  // namespace rt
