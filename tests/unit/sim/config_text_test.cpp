#include "sim/config_text.h"

#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "config/replica_set.h"

namespace rt {
namespace {

TEST_CASE("a config written as JSON parses back to the same config", "[sim][config]") {
  ClusterConfig config;
  config.api_nodes = {{"0", "http://127.0.0.1:8080/analytics"},
                      {"1", "http://127.0.0.1:8081/analytics"}};
  config.worker_nodes = {{"0", "http://127.0.0.1:9000/worker"},
                         {"1", "http://127.0.0.1:9001/worker"},
                         {"2", "http://127.0.0.1:9002/worker"}};
  config.slice_length_s = 3600;
  config.first_slice_s = 1'704'067'200;  // 2024-01-01T00:00:00Z
  config.routing = {{0, SetsOfOne({"0", "1"})}, {13, SetsOfOne({"0", "1", "2"})}};
  config.cache_ttl_ms = 250;
  config.max_late_slices = 24;

  const std::string text = ClusterConfigToJson(config);
  CHECK(text.find("\"first-slice\": \"2024-01-01T00:00:00\"") != std::string::npos);
  const Result<ClusterConfig> parsed = ParseClusterConfig(text, 0);
  REQUIRE(parsed.ok());
  CHECK(*parsed == config);
}

}  // namespace
}  // namespace rt
