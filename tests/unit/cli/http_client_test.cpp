#include "cli/http_client.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_http_server.h"

namespace rt::cli {
namespace {

using testing::ClosedPortUrl;
using testing::FakeHttpServer;
using testing::SeenRequest;

TEST_CASE("a GET returns the status and body of the answer", "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) {
    return FakeHttpServer::Text(200, "unique_users,1\nclicks,2\nimpressions,3\n");
  });
  HttpClient client(server.url());
  Result<HttpResponse> response = client.Get("/analytics?timestamp=5");
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == "unique_users,1\nclicks,2\nimpressions,3\n");
  REQUIRE(server.seen().size() == 1);
  CHECK(server.seen()[0].method == "GET");
  CHECK(server.seen()[0].target == "/analytics?timestamp=5");
}

TEST_CASE("a POST reaches the server with its target and body", "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) { return FakeHttpServer::Text(202, ""); });
  HttpClient client(server.url() + "/analytics");
  Result<HttpResponse> empty = client.Post("/analytics?timestamp=1&user=u&click");
  Result<HttpResponse> with_body = client.Post("/worker/batch", {}, "0 k c\n");
  REQUIRE(empty.ok());
  REQUIRE(with_body.ok());
  CHECK(empty->status == 202);
  CHECK(empty->body.empty());
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/analytics?timestamp=1&user=u&click");
  CHECK(seen[0].body.empty());
  CHECK(seen[1].body == "0 k c\n");
}

TEST_CASE("request headers are passed to the server", "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) { return FakeHttpServer::Text(200, "x"); });
  HttpClient client(server.url());
  REQUIRE(client.Get("/a", {"Cache-Control: no-cache"}).ok());
  REQUIRE(client.Get("/b").ok());
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].cache_control == "no-cache");
  CHECK(seen[1].cache_control.empty());
}

TEST_CASE("an error status comes back as a response with the server's reason",
          "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) {
    return FakeHttpServer::Text(400, "timestamp: not a number: \"abc\"\n");
  });
  HttpClient client(server.url());
  Result<HttpResponse> response = client.Get("/analytics?timestamp=abc");
  REQUIRE(response.ok());
  CHECK(response->status == 400);
  CHECK(DescribeHttpError(*response) == "400 timestamp: not a number: \"abc\"");
}

TEST_CASE("an unreachable server is a transport error naming the URL", "[cli][http_client]") {
  const std::string url = ClosedPortUrl();
  HttpClient client(url);
  Result<HttpResponse> response = client.Get("/analytics?timestamp=1");
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == Status::Code::kUnavailable);
  CHECK_THAT(response.status().message(), Catch::StartsWith("cannot reach " + url + ": "));
}

TEST_CASE("https to a plain HTTP node says that rt speaks plain HTTP", "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) { return FakeHttpServer::Text(200, ""); });
  std::string url = server.url();
  REQUIRE(url.starts_with("http://"));
  url.replace(0, 4, "https");
  HttpClient client(url);
  Result<HttpResponse> response = client.Get("/analytics?timestamp=1");
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == Status::Code::kUnavailable);
  CHECK_THAT(response.status().message(), Catch::StartsWith("cannot reach " + url + ": ") &&
                                              Catch::Contains("rt nodes speak plain HTTP") &&
                                              Catch::Contains("examples/nginx/rt-api.conf"));

  // Plain http to a closed port: no TLS hint.
  HttpClient plain(ClosedPortUrl());
  Result<HttpResponse> refused = plain.Get("/analytics?timestamp=1");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), !Catch::Contains("plain HTTP"));
}

TEST_CASE("one client reuses its connection across a loop of requests", "[cli][http_client]") {
  FakeHttpServer server([](const testing::TestRequest&) { return FakeHttpServer::Text(202, ""); });
  HttpClient client(server.url());
  for (int i = 0; i < 20; ++i) REQUIRE(client.Post("/analytics?timestamp=1&user=u&click").ok());
  CHECK(server.seen().size() == 20);
  CHECK(server.connections() == 1);
}

TEST_CASE("base URLs are normalized to the server's origin", "[cli][http_client]") {
  CHECK(NormalizeBaseUrl("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(NormalizeBaseUrl("http://127.0.0.1:8080/") == "http://127.0.0.1:8080");
  CHECK(NormalizeBaseUrl("http://127.0.0.1:8080/analytics") == "http://127.0.0.1:8080");
  CHECK(NormalizeBaseUrl("http://127.0.0.1:8080/analytics/") == "http://127.0.0.1:8080");
  CHECK(NormalizeBaseUrl("127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(NormalizeBaseUrl(" https://rt.example:443/prefix ") == "https://rt.example:443/prefix");
}

TEST_CASE("query values are percent-encoded", "[cli][http_client]") {
  CHECK(EncodeQueryValue("user42") == "user42");
  CHECK(EncodeQueryValue("a b&c=d") == "a%20b%26c%3Dd");
  CHECK(EncodeQueryValue("é") == "%C3%A9");
  CHECK(EncodeQueryValue("-._~") == "-._~");
}

TEST_CASE("an HTTP error is described by its status and the reason's first line",
          "[cli][http_client]") {
  CHECK(DescribeHttpError({503, "worker 1 unreachable\nmore\n"}) == "503 worker 1 unreachable");
  CHECK(DescribeHttpError({500, ""}) == "500");
  CHECK(DescribeHttpError({400, std::string(500, 'x')}).size() == 4 + 200);
}

}  // namespace
}  // namespace rt::cli
