// Until the write and read paths for replica sets land (issue #14), an API node
// refuses a config with a set of more than one worker, at start and on reload.
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

TEST_CASE("an API node refuses to start with a replica set of two workers",
          "[api][node][replica]") {
  SystemClock clock;
  Result<std::unique_ptr<ApiNode>> created =
      ApiNode::Create(ConfigWith({{"0", "1"}}), Options(), clock);
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().message() ==
        "replica sets of more than one worker are not served yet: routing[0].nodes[0] [0+1]");
  CHECK(ApiNode::Create(ConfigWith({{"0"}, {"1"}}), Options(), clock).ok());
}

TEST_CASE("an API node keeps its config when a reload brings a replica set of two",
          "[api][node][replica]") {
  SystemClock clock;
  Result<std::unique_ptr<ApiNode>> created =
      ApiNode::Create(ConfigWith({{"0"}, {"1"}}), Options(), clock);
  REQUIRE(created.ok());
  ApiNode& node = **created;
  ClusterConfig next = ConfigWith({{"0"}, {"1"}});
  next.routing.push_back({1000000, {{"0", "1"}}});
  const Status refused = node.ReplaceConfig(next, "h");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.message() ==
        "replica sets of more than one worker are not served yet: routing[1].nodes[0] [0+1]");
  CHECK(node.config()->routing == ConfigWith({{"0"}, {"1"}}).routing);
}

}  // namespace rt
