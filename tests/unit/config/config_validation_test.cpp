#include "config/config_validation.h"

#include <catch2/catch.hpp>

#include "config/replica_set.h"

namespace rt {
namespace {

ClusterConfig ValidConfig() {
  ClusterConfig config;
  config.api_nodes = {{"0", "http://127.0.0.1:8080/analytics"}};
  config.worker_nodes = {{"0", "http://127.0.0.1:9000/worker"},
                         {"1", "http://127.0.0.1:9001/worker"}};
  config.first_slice_s = 1577836800;
  config.routing = {{0, SetsOfOne({"0"})}, {10, SetsOfOne({"0", "1"})}};
  return config;
}

// The only problem of `config`, which must have exactly one.
ConfigProblem OnlyProblem(const ClusterConfig& config) {
  const std::vector<ConfigProblem> problems = ValidateClusterConfig(config);
  for (const ConfigProblem& problem : problems) INFO(problem.path + ": " + problem.message);
  REQUIRE(problems.size() == 1);
  return problems[0];
}

}  // namespace

TEST_CASE("a valid config has no problems", "[config][validation]") {
  CHECK(ValidateClusterConfig(ValidConfig()).empty());
}

TEST_CASE("empty node tables and bad URLs are errors", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.api_nodes.clear();
  ConfigProblem problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "api-nodes");

  config = ValidConfig();
  config.worker_nodes["1"] = "http://127.0.0.1/worker";
  problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "worker-nodes.1");
  CHECK_THAT(problem.message, Catch::StartsWith("bad URL: no port"));
}

TEST_CASE("two nodes on one listen address is an error", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.api_nodes["1"] = "http://127.0.0.1:9001/analytics";
  const ConfigProblem problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "worker-nodes.1");
  CHECK(problem.message == "listen address 127.0.0.1:9001 is also used by api-nodes.1");
}

TEST_CASE("an unexpected URL path and port 0 are warnings", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.worker_nodes["1"] = "http://127.0.0.1:9001/work";
  ConfigProblem problem = OnlyProblem(config);
  CHECK_FALSE(problem.is_error());
  CHECK_THAT(problem.message, Catch::Contains("/worker"));

  config = ValidConfig();
  config.api_nodes["0"] = "http://127.0.0.1:0/analytics";
  problem = OnlyProblem(config);
  CHECK_FALSE(problem.is_error());
  CHECK_THAT(problem.message, Catch::Contains("port 0"));
}

TEST_CASE("a non-positive slice length is an error", "[config][validation]") {
  for (int64_t length : {0, -3600}) {
    ClusterConfig config = ValidConfig();
    config.slice_length_s = length;
    const ConfigProblem problem = OnlyProblem(config);
    CHECK(problem.is_error());
    CHECK(problem.path == "length-of-time-slice");
  }
}

TEST_CASE("first-slice system with several API nodes is a warning", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.first_slice_is_system = true;
  CHECK(ValidateClusterConfig(config).empty());
  config.api_nodes["1"] = "http://127.0.0.1:8081/analytics";
  const ConfigProblem problem = OnlyProblem(config);
  CHECK_FALSE(problem.is_error());
  CHECK(problem.path == "first-slice");
}

TEST_CASE("an empty routing is an error", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.routing.clear();
  const ConfigProblem problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "routing");
}

TEST_CASE("routing slices must be strictly increasing and not negative", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.routing[1].slice = 0;
  ConfigProblem problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "routing[1].slice");
  CHECK_THAT(problem.message, Catch::Contains("strictly increasing"));

  config = ValidConfig();
  config.routing = {{-1, SetsOfOne({"0"})}};
  problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "routing[0].slice");
  CHECK_THAT(problem.message, Catch::Contains("negative"));
}

TEST_CASE("a first routing entry after slice 0 is a warning", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.routing[0].slice = 3;
  const ConfigProblem problem = OnlyProblem(config);
  CHECK_FALSE(problem.is_error());
  CHECK(problem.path == "routing[0].slice");
}

TEST_CASE("node lists must be non-empty, known and without repeats", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.routing[1].nodes.clear();
  ConfigProblem problem = OnlyProblem(config);
  CHECK(problem.path == "routing[1].nodes");
  CHECK(problem.message == "empty node list");

  config = ValidConfig();
  config.routing[1].nodes = SetsOfOne({"0", "9"});
  problem = OnlyProblem(config);
  CHECK(problem.path == "routing[1].nodes[1]");
  CHECK(problem.message == "unknown worker id \"9\"");

  config = ValidConfig();
  config.routing[1].nodes = SetsOfOne({"1", "0", "1"});
  problem = OnlyProblem(config);
  CHECK(problem.is_error());
  CHECK(problem.path == "routing[1].nodes[2]");
  CHECK_THAT(problem.message, Catch::Contains("nodes[0]"));
}

TEST_CASE("negative timing values are errors", "[config][validation]") {
  ClusterConfig config = ValidConfig();
  config.cache_ttl_ms = -1;
  config.reload_interval_s = 0;
  config.max_future_s = -1;
  config.max_late_slices = -2;
  const std::vector<ConfigProblem> problems = ValidateClusterConfig(config);
  REQUIRE(problems.size() == 4);
  for (const ConfigProblem& problem : problems) CHECK(problem.is_error());
}

TEST_CASE("misspelt keys get the closest known key as a hint", "[config][validation]") {
  const std::vector<std::string_view> known = {"routing", "first-slice", "length-of-time-slice"};
  CHECK(SuggestKey("first_slice", known) == "first-slice");
  CHECK(SuggestKey("routnig", known) == "routing");
  CHECK(SuggestKey("lenght-of-time-slice", known) == "length-of-time-slice");
  CHECK(SuggestKey("colour", known).empty());
  CHECK(SuggestKey("a", known).empty());
}

}  // namespace rt
