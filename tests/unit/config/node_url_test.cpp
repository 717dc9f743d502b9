#include "config/node_url.h"

#include <catch2/catch.hpp>

namespace rt {

TEST_CASE("a node URL splits into host, port and path", "[config][url]") {
  const Result<NodeUrl> url = ParseNodeUrl("http://localhost:9000/worker");
  REQUIRE(url.ok());
  CHECK(url->host == "localhost");
  CHECK(url->port == 9000);
  CHECK(url->path == "/worker");
  CHECK(*ParseNodeUrl("http://127.0.0.1:8080/analytics") ==
        NodeUrl{"127.0.0.1", 8080, "/analytics"});
  CHECK(*ParseNodeUrl("http://[::1]:8080/analytics") == NodeUrl{"::1", 8080, "/analytics"});
  CHECK(*ParseNodeUrl("http://host:1") == NodeUrl{"host", 1, ""});
}

TEST_CASE("node URLs that cannot be listened on or called are errors", "[config][url]") {
  const std::pair<const char*, const char*> cases[] = {
      {"localhost:9000/worker", "http"},
      {"https://host:9000/worker", "scheme must be http"},
      {"http://host/worker", "no port"},
      {"http://host:/worker", "no port"},
      {"http://host:70000/worker", "port out of range"},
      {"http://user@host:9000/worker", "user info"},
      {"http://host:9000/worker?x=1", "query"},
      {"http://:9000/worker", "no host"},
      {"not a url", "http://host:port/path"},
      {"", "http://host:port/path"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    const Result<NodeUrl> url = ParseNodeUrl(text);
    REQUIRE_FALSE(url.ok());
    CHECK_THAT(url.status().message(), Catch::Contains(expected));
  }
}

}  // namespace rt
