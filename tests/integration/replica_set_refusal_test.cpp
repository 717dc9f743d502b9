// serve-api refuses a config with a replica set of more than one worker until their
// write and read paths land (issue #14, docs/design.md §14), while validate-config
// accepts the same file.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rt {

TEST_CASE("serve-api refuses replica sets of two workers that validate-config accepts",
          "[integration][replica]") {
  testing::TempDir dir;
  const std::string config = dir.Sub("cluster.json");
  std::ofstream(config) << R"({
  "api-nodes": { "0": "http://127.0.0.1:0/analytics" },
  "worker-nodes": { "0": "http://127.0.0.1:0/worker", "1": "http://127.0.0.2:0/worker" },
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",
  "routing": [ { "slice": 0, "nodes": ["0"] }, { "slice": 5, "nodes": [["0", "1"]] } ]
})";
  auto validate = testing::StartRtctl({"validate-config", config});
  REQUIRE(validate->WaitExit() == 0);
  CHECK_THAT(validate->Stdout(), Catch::Contains("slices 5..: [0+1]"));

  auto api = testing::StartRtctl({"serve-api", "--config", config, "--node", "0"},
                                 {"RT_SECRET=a secret of enough bytes"});
  REQUIRE(api->WaitExit() == 1);
  CHECK_THAT(api->Stderr(),
             Catch::Contains("rtctl serve-api: replica sets of more than one worker are not "
                             "served yet: routing[1].nodes[0] [0+1]\n"));
  CHECK(api->Stdout().find("listening on") == std::string::npos);
}

}  // namespace rt
