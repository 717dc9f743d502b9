#include "config/source/config_location.h"

#include <catch2/catch.hpp>

namespace rt {
namespace {

TEST_CASE("a location without the etcd scheme is a file path", "[config][source]") {
  const Result<ConfigLocation> location = ParseConfigLocation("examples/local-cluster.json");
  REQUIRE(location.ok());
  CHECK_FALSE(location->is_etcd());
  CHECK(location->path == "examples/local-cluster.json");
}

TEST_CASE("an etcd location names its endpoints in order and its key", "[config][source]") {
  const Result<ConfigLocation> location =
      ParseConfigLocation("etcd://127.0.0.1:2379,10.0.0.2:2379/rt/cluster%20a");
  REQUIRE(location.ok());
  CHECK(location->is_etcd());
  CHECK(location->endpoints == std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:2379"});
  CHECK(location->key == "rt/cluster a");
}

TEST_CASE("an etcd location without a port, an endpoint or a key is refused", "[config][source]") {
  for (const char* bad : {"etcd://127.0.0.1/rt", "etcd:///rt", "etcd://127.0.0.1:2379/",
                          "etcd://127.0.0.1:2379", "etcd://a:1,,b:2/k", "etcd://u@h:1/k", ""}) {
    INFO(bad);
    const Result<ConfigLocation> location = ParseConfigLocation(bad);
    REQUIRE_FALSE(location.ok());
    CHECK(location.status().code() == Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace rt
