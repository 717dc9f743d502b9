// `rtctl --version` and the metric rt_build_info come from one place
// (server/metrics/build_info.h): a running node reports the version and revision
// that the binary prints.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"

namespace rt {
namespace {

TEST_CASE("rtctl --version names the version and revision that rt_build_info exports",
          "[integration][version]") {
  const testing::RtctlRun run = testing::RunRtctl({"--version"});
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  std::smatch m;
  static const std::regex first_line(
      "^rtctl ([^ \n]+) \\(git ([0-9a-f]+|unknown)\\)\nKyoto Cabinet [0-9][^,\n]*, Boost "
      "[0-9]+\\.[0-9]+\\.[0-9]+\n?$");
  REQUIRE(std::regex_match(run.out, m, first_line));
  const std::string version = m[1];
  const std::string revision = m[2];

  testing::LocalCluster::Options options;
  options.workers = 1;
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const std::string series =
      "rt_build_info{version=\"" + version + "\",revision=\"" + revision + "\"}";
  CHECK(testing::FetchMetric(cluster.api_port(), series) == 1.0);
  CHECK(testing::FetchMetric(cluster.worker_port(0), series) == 1.0);
}

}  // namespace
}  // namespace rt
