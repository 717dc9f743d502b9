// Config divergence is visible (issue #12): an API node that refuses the config file
// on disk keeps serving with its running config but answers /healthz 503 with the
// reason, and its metrics carry both configs' hashes (rt_config_generation,
// rt_config_refused); once the file is accepted again, or holds the running config,
// it is healthy. Real processes (LocalCluster), synchronised on /metrics and
// /healthz.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "cli/node_config.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::FetchMetric;
using testing::LocalCluster;
namespace bhttp = boost::beast::http;

std::string FileHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return cli::ConfigSourceHash(bytes.str());
}

std::string Generation(const std::string& hash) {
  return "rt_config_generation{hash=\"" + hash + "\"}";
}
std::string Refused(const std::string& hash) { return "rt_config_refused{hash=\"" + hash + "\"}"; }

testing::TestResponse Health(uint16_t port) {
  const auto response = testing::HttpFetch(port, bhttp::verb::get, "/healthz");
  REQUIRE(response.has_value());
  return *response;
}

bool WaitForHealth(uint16_t port, unsigned status) {
  return testing::WaitFor([&] { return Health(port).result_int() == status; }, 20s, 20ms);
}

TEST_CASE("an API node that refuses its config file says so on healthz and in metrics",
          "[integration][config]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const uint16_t api = cluster.api_port();
  const std::string routing = "[{\"slice\": 0, \"nodes\": [\"0\", \"1\"]}]";

  const std::string start_hash = FileHash(cluster.config_path());
  CHECK(Health(api).body() == "ok\n");
  CHECK(FetchMetric(api, Generation(start_hash)) == 1);
  CHECK(FetchMetric(api, Refused(start_hash)) == 0);
  // Workers export the hash of the config they started with, as the API node does.
  const auto worker_metrics =
      testing::HttpFetch(cluster.worker_port(0), bhttp::verb::get, "/metrics");
  REQUIRE(worker_metrics.has_value());
  CHECK(std::regex_search(worker_metrics->body(),
                          std::regex("\nrt_config_generation\\{hash=\"[0-9a-f]{12}\"\\} 1\n")));

  // The file now names the API node's real port: a safe change, applied.
  REQUIRE(cluster.WriteConfigAndReload(routing) == LocalCluster::ReloadOutcome::kApplied);
  const std::string running = FileHash(cluster.config_path());
  REQUIRE(running != start_hash);
  CHECK(FetchMetric(api, Generation(running)) == 2);
  CHECK_FALSE(FetchMetric(api, Generation(start_hash)).has_value());
  CHECK(Health(api).result() == bhttp::status::ok);

  SECTION("an unsafe change, then the running config back in the file") {
    // The current slice's workers swap places: data would move.
    REQUIRE(cluster.WriteConfigAndReload("[{\"slice\": 0, \"nodes\": [\"1\", \"0\"]}]") ==
            LocalCluster::ReloadOutcome::kRefused);
    const std::string refused = FileHash(cluster.config_path());
    const auto health = Health(api);
    CHECK(health.result() == bhttp::status::service_unavailable);
    CHECK_THAT(health.body(), Catch::StartsWith("config refused: unsafe change"));
    CHECK_THAT(health.body(), Catch::EndsWith("; running config " + running + "\n"));
    CHECK(health.body().find('\n') == health.body().size() - 1);
    CHECK(FetchMetric(api, Refused(refused)) == 1);
    CHECK(FetchMetric(api, Generation(running)) == 2);
    // Still serving, with the running config.
    const auto read =
        testing::HttpFetch(api, bhttp::verb::get,
                           "/analytics?timestamp=" +
                               std::to_string(cluster.clock().Middle(cluster.clock().now_slice)));
    REQUIRE(read.has_value());
    CHECK(read->result() == bhttp::status::ok);

    cluster.WriteConfig(routing);  // the running config's bytes again: nothing to apply
    REQUIRE(FileHash(cluster.config_path()) == running);
    cluster.Reload();
    REQUIRE(WaitForHealth(api, 200));
    CHECK(Health(api).body() == "ok\n");
    CHECK(FetchMetric(api, Refused(running)) == 0);
    CHECK_FALSE(FetchMetric(api, Refused(refused)).has_value());
    CHECK(FetchMetric(api, Generation(running)) == 2);
    // The log says the refusal is over, once.
    CHECK(cluster.api().WaitForOutput("holds the running config again: in sync", true, 10s));
  }

  SECTION("a file that does not load, then a safe change") {
    {
      std::ofstream(cluster.config_path() + ".tmp") << "{ \"api-nodes\": \n";
      std::rename((cluster.config_path() + ".tmp").c_str(), cluster.config_path().c_str());
    }
    const std::string broken = FileHash(cluster.config_path());
    cluster.Reload();
    REQUIRE(WaitForHealth(api, 503));
    CHECK_THAT(Health(api).body(), Catch::StartsWith("config refused: config "));
    CHECK(FetchMetric(api, Refused(broken)) == 1);

    // Worker 1 alone from a slice far ahead: safe, applied, healthy again.
    const int64_t later = cluster.clock().now_slice + 1000;
    REQUIRE(cluster.WriteConfigAndReload(
                "[{\"slice\": 0, \"nodes\": [\"0\", \"1\"]}, {\"slice\": " + std::to_string(later) +
                ", \"nodes\": [\"1\"]}]") == LocalCluster::ReloadOutcome::kApplied);
    const std::string applied = FileHash(cluster.config_path());
    CHECK(Health(api).body() == "ok\n");
    CHECK(FetchMetric(api, Generation(applied)) == 3);
    CHECK(FetchMetric(api, Refused(applied)) == 0);
  }
}

}  // namespace
}  // namespace rt
