// A real `rtctl serve-worker` under the bounds of issue #12: --max-connections and
// the slice horizon from its config, seen from outside.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/http_test_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"
#include "tests/support/worker_signing.h"

namespace rt::testing {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

std::string Key(int n) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", n);
  return hex;
}

TEST_CASE("a worker process refuses connections past --max-connections and far-future slices",
          "[integration][worker][bounds]") {
  TempDir dir;
  const std::string config = dir.Sub("cluster.json");
  std::ofstream(config) << R"({
  "api-nodes": { "0": "http://127.0.0.1:1/analytics" },
  "worker-nodes": { "0": "http://127.0.0.1:2/worker" },
  "length-of-time-slice": 3600,
  "first-slice": "2026-01-01T00:00:00",
  "max-late-slices": null,
  "routing": [ { "slice": 0, "nodes": ["0"] } ]
})";  // null: slice 1, long past, is never sealed (docs/design.md §7 "Store records")
  auto worker =
      StartRtctl({"serve-worker", "--config", config, "--node", "0", "--data-dir", dir.Sub("data"),
                  "--listen", "127.0.0.1:0", "--threads", "1", "--max-connections", "3"},
                 {"RT_WORKER_KEY=" + TestWorkerKeyHex()});
  const auto port = worker->WaitForReadyPort();
  REQUIRE(port);

  {
    // Accepted in the order opened: the first 3 are sessions, the other 7 refused.
    std::vector<std::unique_ptr<HttpTestConnection>> idle;
    for (int i = 0; i < 10; ++i) {
      idle.push_back(std::make_unique<HttpTestConnection>(*port, 10s));
      REQUIRE(idle.back()->connected());
    }
    for (int i = 3; i < 10; ++i) {
      const auto response = idle[i]->Read();
      REQUIRE(response.has_value());
      CHECK(response->result_int() == 503);
    }
  }
  // Once the idle ones are closed the worker serves again (a scrape racing their
  // closing may itself be refused, hence the wait and the lower bound).
  std::optional<double> refused;
  REQUIRE(WaitFor(
      [&] {
        return (refused = FetchMetric(*port, "rt_http_connections_refused_total")).has_value();
      },
      20s));
  CHECK(*refused >= 7);

  const auto far = SignedFetch(*port, bhttp::verb::post,
                               "/worker?slice=9000000000000000&user=" + Key(1) + "&click");
  REQUIRE(far.has_value());
  CHECK(far->result_int() == 400);
  CHECK_THAT(far->body(), Catch::Contains("outside the accepted range"));
  const auto near =
      SignedFetch(*port, bhttp::verb::post, "/worker?slice=1&user=" + Key(1) + "&click");
  REQUIRE(near.has_value());
  CHECK(near->result_int() == 202);
  const auto slices = SignedFetch(*port, bhttp::verb::get, "/worker/slices");
  REQUIRE(slices.has_value());
  CHECK(slices->body() ==
        R"({"slices":[{"clicks":1,"impressions":0,"slice":1,"unique_users":1}]})");
  CHECK(FetchMetric(*port, "rt_worker_rejected_total{reason=\"slice_out_of_range\"}") == 1.0);

  worker->Terminate();
  CHECK(worker->WaitExit() == 0);
}

}  // namespace
}  // namespace rt::testing
