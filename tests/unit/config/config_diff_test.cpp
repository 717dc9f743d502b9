#include "config/config_diff.h"

#include <catch2/catch.hpp>

#include "config/replica_set.h"

namespace rt {
namespace {

ClusterConfig Base() {
  ClusterConfig config;
  config.api_nodes = {{"0", "http://127.0.0.1:8080/analytics"}};
  config.worker_nodes = {{"0", "http://127.0.0.1:9000/worker"},
                         {"1", "http://127.0.0.1:9001/worker"}};
  config.routing = {{0, SetsOfOne({"0"})}, {3, SetsOfOne({"0", "1"})}};
  return config;
}

}  // namespace

TEST_CASE("a config change names the changed keys and the routing entries added and removed",
          "[config][diff]") {
  const ClusterConfig before = Base();
  ClusterConfig after = Base();
  after.worker_nodes["2"] = "http://127.0.0.1:9002/worker";
  after.routing = {{0, SetsOfOne({"0"})}, {3, SetsOfOne({"0", "1", "2"})}, {7, SetsOfOne({"2"})}};
  after.cache_ttl_ms = 500;
  CHECK(DescribeConfigChange(before, after) ==
        "changed=worker-nodes,routing,cache-ttl-ms "
        "routing_added=\"slice 3 [0,1,2]; slice 7 [2]\" routing_removed=\"slice 3 [0,1]\"");
}

TEST_CASE("a config change without routing changes lists only the keys", "[config][diff]") {
  ClusterConfig after = Base();
  after.max_late_slices = 2;
  after.reload_interval_s = 5;
  CHECK(DescribeConfigChange(Base(), after) == "changed=reload-interval-s,max-late-slices");
  CHECK(DescribeConfigChange(Base(), Base()) == "changed=none");
}

}  // namespace rt
