// The connection cap of the HTTP core (ServerOptions::max_connections, issue #12):
// idle connections cannot take every descriptor of a node.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "server/http/http_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/wait_for.h"

namespace rt::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpFetch;
using testing::HttpTestConnection;
using testing::WaitFor;

std::unique_ptr<HttpServer> StartServer(ServerOptions options) {
  Router router;
  router.Add(Verb::get, "/echo", [](Request& request, Responder respond) {
    respond(MakeTextResponse(StatusCode::ok, std::string(request.target())));
  });
  auto server = std::make_unique<HttpServer>(std::move(router), options);
  REQUIRE(server->Listen("127.0.0.1", 0).ok());
  server->Start();
  return server;
}

TEST_CASE("connections beyond max_connections get 503, are closed at once and counted",
          "[http][server][bounds]") {
  ServerOptions options;
  options.threads = 2;
  options.max_connections = 20;
  auto server = StartServer(options);
  const uint16_t port = server->LocalEndpoint().port();

  // 50 idle connections, opened one after the other: the listener accepts them in
  // that order, so the first 20 are sessions and the other 30 are refused.
  std::vector<std::unique_ptr<HttpTestConnection>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<HttpTestConnection>(port, 5s));
    REQUIRE(idle.back()->connected());
  }
  REQUIRE(
      WaitFor([&] { return server->OpenConnections() + server->RefusedConnections() == 50; }, 20s));
  CHECK(server->RefusedConnections() == 30);
  CHECK(server->OpenConnections() == 20);
  for (int i = 20; i < 50; ++i) {
    const auto response = idle[i]->Read();
    REQUIRE(response.has_value());
    CHECK(response->result_int() == 503);
    CHECK((*response)["Retry-After"] == "1");
    CHECK(idle[i]->WaitClosed());
  }

  // At the cap, a real request is refused too; once the idle ones are gone it is served.
  const auto refused = HttpFetch(port, Verb::get, "/echo");
  if (refused) CHECK(refused->result_int() == 503);  // or a reset: both are refusals
  CHECK(server->RefusedConnections() == 31);
  idle.clear();
  REQUIRE(WaitFor([&] { return server->OpenConnections() == 0; }, 20s));
  const auto served = HttpFetch(port, Verb::get, "/echo?x");
  REQUIRE(served.has_value());
  CHECK(served->result_int() == 200);
  CHECK(served->body() == "/echo?x");
  CHECK(server->RefusedConnections() == 31);
}

TEST_CASE("idle connections at the cap are closed by the idle timeout, then new ones are served",
          "[http][server][bounds]") {
  ServerOptions options;
  options.threads = 1;
  options.max_connections = 5;
  options.idle_timeout = 300ms;
  auto server = StartServer(options);
  const uint16_t port = server->LocalEndpoint().port();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<HttpTestConnection>> idle;
  for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<HttpTestConnection>(port, 10s));
  for (auto& connection : idle) CHECK(connection->WaitClosed());
  // Closed by the server's idle timeout, not before it.
  CHECK(std::chrono::steady_clock::now() - start >= 240ms);
  REQUIRE(WaitFor([&] { return server->OpenConnections() == 0; }, 20s));
  const auto served = HttpFetch(port, Verb::get, "/echo");
  REQUIRE(served.has_value());
  CHECK(served->result_int() == 200);
}

TEST_CASE("the default connection cap leaves descriptors for everything else", "[http][bounds]") {
  CHECK(MaxConnectionsForFdLimit(1024) == 1024 - 128 - 102);
  CHECK(MaxConnectionsForFdLimit(65536) == 65536 - 128 - 6553);
  CHECK(MaxConnectionsForFdLimit(100) == 16);
  CHECK(DefaultMaxConnections() >= 16);
  ServerOptions options;
  HttpServer server(Router{}, options);
  CHECK(server.max_connections() == DefaultMaxConnections());
}

}  // namespace
}  // namespace rt::http
