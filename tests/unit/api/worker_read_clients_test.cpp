#include "server/api/worker_read_clients.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>

#include "tests/support/fake_http_server.h"
#include "tests/support/io_thread.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::WaitFor;

// A worker that hangs on /worker?slice=1 and answers everything else at once.
FakeHttpServer::Reply HangOnSliceOne(const http::Request& request) {
  if (request.target() == "/worker?slice=1") {
    FakeHttpServer::Reply reply;
    reply.answer = false;
    return reply;
  }
  return FakeHttpServer::Text(200, "unique_users,1\nclicks,2\nimpressions,3\n");
}

std::string Url(const FakeHttpServer& server) { return server.url() + "/worker"; }

http::Request Get(const std::string& target) { return http::Request{http::Verb::get, target, 11}; }

TEST_CASE("sequential reads to a worker reuse one connection", "[api][read]") {
  FakeHttpServer server(HangOnSliceOne);
  testing::TestIoThread io;
  WorkerReadClients clients(io.ioc(), http::ClientOptions{});
  for (int i = 0; i < 5; ++i) {
    auto connection = clients.For("0", Url(server));
    REQUIRE(connection.ok());
    std::promise<Status> answered;
    (*connection)->Send(Get("/worker?slice=2"), [&answered](Status status, http::Response) {
      answered.set_value(std::move(status));
    });
    auto future = answered.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    CHECK(future.get().ok());
  }
  CHECK(server.connections() == 1);
}

TEST_CASE("a read that hangs does not hold up the next read to the same worker", "[api][read]") {
  FakeHttpServer server(HangOnSliceOne);
  testing::TestIoThread io;
  WorkerReadClients clients(io.ioc(), http::ClientOptions{});
  auto hanging = clients.For("0", Url(server));
  REQUIRE(hanging.ok());
  auto hung_done = std::make_shared<std::promise<void>>();
  (*hanging)->Send(
      Get("/worker?slice=1"), [hung_done](Status, http::Response) { hung_done->set_value(); }, 60s);
  REQUIRE(WaitFor([&] { return server.request_count() == 1; }));

  auto next = clients.For("0", Url(server));
  REQUIRE(next.ok());
  CHECK(next->get() != hanging->get());
  std::promise<Status> answered;
  (*next)->Send(Get("/worker?slice=2"), [&answered](Status status, http::Response) {
    answered.set_value(std::move(status));
  });
  auto future = answered.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  CHECK(future.get().ok());
  // The hung read is still waiting (its timeout is a minute): the answer did not
  // come from its connection giving up.
  CHECK((*hanging)->outstanding() == 1);
  CHECK(server.connections() == 2);
}

TEST_CASE("a worker's read pool opens no more than its size", "[api][read]") {
  FakeHttpServer server(HangOnSliceOne);
  testing::TestIoThread io;
  constexpr size_t kPool = 3;
  WorkerReadClients clients(io.ioc(), http::ClientOptions{}, kPool);
  std::set<const http::ClientConnection*> used;
  std::vector<std::shared_ptr<http::ClientConnection>> held;
  for (int i = 0; i < 6; ++i) {
    auto connection = clients.For("0", Url(server));
    REQUIRE(connection.ok());
    used.insert(connection->get());
    held.push_back(*connection);
    (*connection)
        ->Send(
            Get("/worker?slice=1"), [](Status, http::Response) {}, 60s);
  }
  CHECK(used.size() == kPool);
  REQUIRE(WaitFor([&] { return server.connections() == kPool; }));
  for (auto& connection : held) connection->Close();
}

TEST_CASE("a worker whose URL changed gets a new read pool", "[api][read]") {
  FakeHttpServer first(HangOnSliceOne);
  FakeHttpServer second(HangOnSliceOne);
  testing::TestIoThread io;
  WorkerReadClients clients(io.ioc(), http::ClientOptions{});
  auto a = clients.For("0", Url(first));
  auto b = clients.For("0", Url(second));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->get() != b->get());
  CHECK((*b)->peer() == "127.0.0.1:" + std::to_string(second.port()));
  CHECK_FALSE(clients.For("0", "not a url").ok());
}

}  // namespace
}  // namespace rt
