// An API node serves replica sets of more than one worker (docs/design.md §14); the
// write path itself is tested with real processes in replica_write_test.cpp.
#include <catch2/catch.hpp>

#include "base/clock.h"
#include "config/replica_set.h"
#include "server/api/api_node.h"

namespace rt {
namespace {

ClusterConfig ConfigWith(std::vector<ReplicaSet> sets) {
  ClusterConfig config;
  config.api_nodes = {{"a", "http://127.0.0.1:1/analytics"}};
  config.worker_nodes = {{"0", "http://127.0.0.1:2/worker"}, {"1", "http://127.0.0.1:3/worker"}};
  config.routing = {{0, std::move(sets)}};
  return config;
}

ApiNodeOptions Options() {
  ApiNodeOptions options;
  options.node_id = "a";
  options.secret = "a secret of enough bytes";
  options.listen_host = "127.0.0.1";
  options.threads = 1;
  return options;
}

}  // namespace

TEST_CASE("an API node serves a config with replica sets of two workers", "[api][node][replica]") {
  SystemClock clock;
  ApiNodeOptions options = Options();
  options.listen_port = 0;  // any free port
  Result<std::unique_ptr<ApiNode>> created =
      ApiNode::Create(ConfigWith({{"0", "1"}}), options, clock);
  REQUIRE(created.ok());
  REQUIRE((**created).Start().ok());
  CHECK(ApiNode::Create(ConfigWith({{"0"}, {"1"}}), Options(), clock).ok());
}

}  // namespace rt
