// The API node against real worker processes: exact totals per hour, perworker and
// allslices, hot reloads (safe and unsafe), a worker killed and restarted while
// events flow, and no raw usernames on the workers' disks.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"
#include "sim/oracle.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::FetchMetric;
using testing::HttpTestConnection;
using testing::LocalCluster;
using testing::MakeTestRequest;
namespace bhttp = boost::beast::http;

using testing::NowMs;

// Posts one event on a keep-alive connection; returns the HTTP status (0: no answer).
int PostEvent(HttpTestConnection& connection, int64_t ts, const std::string& user, bool click) {
  const std::string target = "/analytics?timestamp=" + std::to_string(ts) + "&user=" + user +
                             (click ? "&click" : "&impression");
  const auto response = connection.Exchange(MakeTestRequest(bhttp::verb::post, target));
  return response ? response->result_int() : 0;
}

std::optional<testing::TestResponse> Get(uint16_t port, const std::string& target) {
  return testing::HttpFetch(port, bhttp::verb::get, target, "", {{"Cache-Control", "no-cache"}});
}

SliceStats GetSlice(uint16_t port, int64_t ts) {
  const auto response = Get(port, "/analytics?timestamp=" + std::to_string(ts));
  REQUIRE(response);
  INFO(response->body());
  REQUIRE(response->result_int() == 200);
  const Result<SliceStats> stats = ParseSliceStats(response->body());
  REQUIRE(stats.ok());
  return *stats;
}

// The total of a perworker answer and how many workers it lists.
std::pair<SliceStats, int> SumPerWorker(const std::string& body) {
  const Result<std::vector<StatsRecord>> records = ParseStatsRecords(body);
  REQUIRE(records.ok());
  SliceStats total;
  for (const StatsRecord& record : *records) total += record.stats;
  return {total, static_cast<int>(records->size())};
}

// Waits (bounded) until a GET without cache shows `expected`: the API node forwards
// in batches, so a GET right after the 202s may not see them yet.
void WaitUntilCounted(uint16_t port, int64_t ts, const SliceStats& expected) {
  testing::WaitFor(
      [&] {
        const auto response = Get(port, "/analytics?timestamp=" + std::to_string(ts));
        if (!response || response->result_int() != 200) return false;
        const Result<SliceStats> stats = ParseSliceStats(response->body());
        return stats.ok() && *stats == expected;
      },
      20s, 20ms);
}

// The workers a perworker answer lists for the slice holding `ts`.
std::set<std::string> WorkersOf(uint16_t port, int64_t ts) {
  const auto response = Get(port, "/analytics/perworker?timestamp=" + std::to_string(ts));
  REQUIRE(response);
  INFO(response->body());
  REQUIRE(response->result_int() == 200);
  const Result<std::vector<StatsRecord>> records = ParseStatsRecords(response->body());
  REQUIRE(records.ok());
  std::set<std::string> workers;
  for (const StatsRecord& record : *records) workers.insert(record.worker);
  return workers;
}

}  // namespace

TEST_CASE("every hour's totals equal an exact oracle", "[integration][api]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  HttpTestConnection connection(cluster.api_port());
  REQUIRE(connection.connected());

  const testing::SliceClock& clock = cluster.clock();
  const int64_t now = NowMs();
  const int64_t hour = clock.slice_ms;
  const int64_t current_slice = clock.SliceOf(now);
  Oracle oracle;
  std::mt19937_64 random(7);
  for (int i = 0; i < 3000; ++i) {
    // 90% now, the rest up to five hours back.
    const int64_t ts = random() % 10 == 0 ? now - static_cast<int64_t>(random() % (5 * hour))
                                          : now - static_cast<int64_t>(random() % 1000);
    const std::string user = "user" + std::to_string(random() % 400);
    const bool click = random() % 3 == 0;
    REQUIRE(PostEvent(connection, ts, user, click) == 202);
    oracle.Record(clock.SliceOf(ts), user, click ? Action::kClick : Action::kImpression);
  }
  WaitUntilCounted(cluster.api_port(), now, oracle.StatsFor(current_slice));

  for (const auto& [slice, expected] : oracle.AllSlices()) {
    const int64_t ts = clock.Start(slice) + 17;
    INFO("slice " << slice);
    CHECK(GetSlice(cluster.api_port(), ts) == oracle.StatsFor(slice));
    const auto perworker =
        Get(cluster.api_port(), "/analytics/perworker?timestamp=" + std::to_string(ts));
    REQUIRE(perworker);
    REQUIRE(perworker->result_int() == 200);
    const auto [sum, workers] = SumPerWorker(perworker->body());
    CHECK(workers == 2);
    CHECK(sum == oracle.StatsFor(slice));
  }

  // allslices (like perworker) counts as a read, and in the latency histogram.
  const std::optional<double> reads = FetchMetric(cluster.api_port(), "rt_api_reads_total");
  const std::optional<double> timed = FetchMetric(cluster.api_port(), "rt_api_get_seconds_count");
  REQUIRE(reads);
  REQUIRE(timed);
  const auto all = Get(cluster.api_port(), "/analytics/allslices");
  REQUIRE(all);
  REQUIRE(all->result_int() == 200);
  CHECK(FetchMetric(cluster.api_port(), "rt_api_reads_total") == *reads + 1);
  CHECK(FetchMetric(cluster.api_port(), "rt_api_get_seconds_count") == *timed + 1);
  const auto metrics = Get(cluster.api_port(), "/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body(), Catch::Contains("rt_build_info{version=\"0.1\",revision=\""));
  CHECK_THAT(metrics->body(), Catch::Contains("\nprocess_open_fds "));
  std::string expected_all;
  for (const auto& [slice, unused] : oracle.AllSlices()) {
    expected_all +=
        "slice," + std::to_string(slice) + "\n" + FormatSliceStats(oracle.StatsFor(slice));
  }
  CHECK(all->body() == expected_all);

  SECTION("the raw usernames never reach the workers' files") {
    REQUIRE(cluster.StopApi() == 0);
    for (int w = 0; w < 2; ++w) {
      for (const auto& entry :
           std::filesystem::recursive_directory_iterator(cluster.worker_data_dir(w))) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string content((std::istreambuf_iterator<char>(in)), {});
        INFO(entry.path());
        CHECK(content.find("user17") == std::string::npos);
        CHECK(content.find("user399") == std::string::npos);
      }
    }
  }
}

TEST_CASE("bad events get a 400 with a one-line reason and nothing is counted",
          "[integration][api]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const int64_t now = NowMs();
  for (const std::string& target : std::vector<std::string>{
           "/analytics?user=u&click", "/analytics?timestamp=" + std::to_string(now) + "&click",
           "/analytics?timestamp=" + std::to_string(now) + "&user=u",
           "/analytics?timestamp=1000&user=u&click",
           "/analytics?timestamp=99999999999999999999&user=u&click"}) {
    INFO(target);
    const auto response = testing::HttpFetch(cluster.api_port(), bhttp::verb::post, target);
    REQUIRE(response);
    CHECK(response->result_int() == 400);
    CHECK(response->body().find('\n') == response->body().size() - 1);
  }
  CHECK(GetSlice(cluster.api_port(), now) == SliceStats{});
}

TEST_CASE("a reload adds a worker for future slices and refuses to reroute the current one",
          "[integration][api][reload]") {
  // Hour slices with now in the middle of one (LocalCluster's first-slice): the
  // protected horizon, now + max-future-s + reload-interval-s (300 + 30 s), ends in
  // the current slice, so routing the next slice differently is safe at once, and
  // no slice boundary passes during the test.
  LocalCluster::Options options;
  options.workers = 2;
  options.extra_json = "\"cache-ttl-ms\": 0,";
  options.routing_json = "[{\"slice\": 0, \"nodes\": [\"0\"]}]";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const testing::SliceClock& clock = cluster.clock();
  const int64_t current = clock.now_slice;
  const int64_t next = current + 1;
  const std::set<std::string> only_0 = {cluster.worker_url(0)};
  const std::set<std::string> both = {cluster.worker_url(0), cluster.worker_url(1)};
  REQUIRE(WorkersOf(cluster.api_port(), clock.Start(next)) == only_0);

  const std::string added =
      "[{\"slice\": 0, \"nodes\": [\"0\"]}, {\"slice\": " + std::to_string(next) +
      ", \"nodes\": [\"0\", \"1\"]}]";
  REQUIRE(cluster.WriteConfigAndReload(added) == LocalCluster::ReloadOutcome::kApplied);
  // The log line says what changed, as key=value (the first reload also fixes the
  // file's api-nodes port: changed=api-nodes,routing).
  CHECK(cluster.api().WaitForOutput(
      "routing routing_added=\"slice " + std::to_string(next) + " [0,1]\"", true, 10s));
  CHECK(WorkersOf(cluster.api_port(), clock.Start(next)) == both);
  CHECK(WorkersOf(cluster.api_port(), clock.Middle(next + 5)) == both);
  CHECK(WorkersOf(cluster.api_port(), clock.Middle(current)) == only_0);

  // An unsafe change: the current slice would move to worker 1. It is refused, and
  // the running routing stays, for reads and for new events alike.
  REQUIRE(cluster.WriteConfigAndReload("[{\"slice\": 0, \"nodes\": [\"1\"]}]") ==
          LocalCluster::ReloadOutcome::kRefused);
  // The log says why (an operator's view; the test synchronised on /metrics).
  CHECK(cluster.api().WaitForOutput("unsafe change", true, 10s));
  CHECK(WorkersOf(cluster.api_port(), clock.Middle(current)) == only_0);
  CHECK(WorkersOf(cluster.api_port(), clock.Start(next)) == both);

  HttpTestConnection connection(cluster.api_port());
  REQUIRE(connection.connected());
  const int64_t ts = NowMs();
  for (int i = 0; i < 100; ++i) {
    REQUIRE(PostEvent(connection, ts, "u" + std::to_string(i), true) == 202);
  }
  WaitUntilCounted(cluster.api_port(), ts, SliceStats{100, 100, 0});
  const auto perworker =
      Get(cluster.api_port(), "/analytics/perworker?timestamp=" + std::to_string(ts));
  REQUIRE(perworker);
  const auto [sum, workers] = SumPerWorker(perworker->body());
  CHECK(workers == 1);
  CHECK(sum == SliceStats{100, 100, 0});
}

TEST_CASE("a worker killed and restarted while events flow counts each event once",
          "[integration][api][faults]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const int64_t now = NowMs();
  Oracle oracle;
  HttpTestConnection connection(cluster.api_port());
  int accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    if (i == 1000) cluster.KillWorker(1);
    if (i == 3000) REQUIRE(cluster.RestartWorker(1));
    const std::string user = "user" + std::to_string(i % 700);
    const int status = PostEvent(connection, now, user, i % 4 == 0);
    REQUIRE(status == 202);  // the queue absorbs the outage
    oracle.Record(0, user, i % 4 == 0 ? Action::kClick : Action::kImpression);
    ++accepted;
  }
  WaitUntilCounted(cluster.api_port(), now, oracle.StatsFor(0));
  CHECK(GetSlice(cluster.api_port(), now) == oracle.StatsFor(0));
  REQUIRE(cluster.StopApi() == 0);
  CHECK(cluster.api().Stderr().find("every accepted event was delivered") != std::string::npos);
  // The forwarder's lines carry the node's prefix and name the worker as key=value.
  CHECK_THAT(cluster.api().Stderr(), Catch::Contains("rt-api[0]: worker=1 peer=127.0.0.1:"));
  CHECK_THAT(cluster.api().Stderr(), Catch::Contains("batches delivered again"));
}

TEST_CASE("a worker killed -9 under load reports its store repair on /healthz and /metrics",
          "[integration][worker][faults][disk]") {
  LocalCluster::Options options;
  options.workers = 1;
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const uint16_t worker = cluster.worker_port(0);
  CHECK(FetchMetric(worker, "rt_worker_store_repaired") == 0.0);
  const int64_t now = NowMs();
  Oracle oracle;
  HttpTestConnection connection(cluster.api_port());
  for (int i = 0; i < 3000; ++i) {
    if (i == 1000) {
      // Killed once it has committed batches: its Kyoto file is open, its WAL there.
      REQUIRE(testing::WaitFor([&] { return FetchMetric(worker, "rt_worker_batches_total") >= 1; },
                               20s, 5ms));
      cluster.KillWorker(0);
      REQUIRE(cluster.RestartWorker(0));
    }
    const std::string user = "user" + std::to_string(i % 700);
    REQUIRE(PostEvent(connection, now, user, i % 4 == 0) == 202);
    oracle.Record(0, user, i % 4 == 0 ? Action::kClick : Action::kImpression);
  }
  WaitUntilCounted(cluster.api_port(), now, oracle.StatsFor(0));
  CHECK(GetSlice(cluster.api_port(), now) == oracle.StatsFor(0));

  const uint16_t restarted = cluster.worker_port(0);
  const auto health = testing::HttpFetch(restarted, bhttp::verb::get, "/healthz");
  REQUIRE(health);
  CHECK(health->result_int() == 200);  // consistent after Kyoto's repair: still healthy
  CHECK(health->body().rfind("ok\n", 0) == 0);
  CHECK(health->body().size() > 3);  // a line saying what was repaired
  CHECK(FetchMetric(restarted, "rt_worker_store_repaired") == 1.0);
}

}  // namespace rt

namespace rt {

TEST_CASE("serve-api with a bad config, an unknown node, a busy port or bad flags fails clearly",
          "[integration][api]") {
  testing::TempDir dir;
  const std::string bad = dir.Sub("bad.json");
  std::ofstream(bad) << R"({ "api-nodes": { "0": "http://127.0.0.1:1/analytics" } )";
  auto broken = testing::StartRtctl({"serve-api", "--config", bad, "--node", "0"});
  CHECK(broken->WaitExit() == 1);
  CHECK(broken->Stderr().rfind("rtctl serve-api: ", 0) == 0);
  CHECK(broken->Stderr().find('\n') == broken->Stderr().size() - 1);

  const std::string good = testing::SourceDir() + "/examples/local-cluster.json";
  auto unknown = testing::StartRtctl({"serve-api", "--config", good, "--node", "7"},
                                     {"RT_SECRET=a-secret-of-16-bytes+"});
  CHECK(unknown->WaitExit() == 1);
  CHECK(unknown->Stderr().find("\"7\"") != std::string::npos);

  // Two nodes on one port: the second cannot listen and says so in one line.
  auto first =
      testing::StartRtctl({"serve-api", "--config", good, "--node", "0", "--listen", "127.0.0.1:0"},
                          {"RT_SECRET=a-secret-of-16-bytes+"});
  const std::optional<uint16_t> port = first->WaitForReadyPort();
  REQUIRE(port);
  auto second = testing::StartRtctl({"serve-api", "--config", good, "--node", "0", "--listen",
                                     "127.0.0.1:" + std::to_string(*port)},
                                    {"RT_SECRET=a-secret-of-16-bytes+"});
  CHECK(second->WaitExit() == 1);
  CHECK(second->Stderr().find(std::to_string(*port)) != std::string::npos);
  first->Terminate();
  CHECK(first->WaitExit() == 0);

  auto usage = testing::StartRtctl({"serve-api", "--config", good});
  CHECK(usage->WaitExit() == 2);
  auto bad_listen =
      testing::StartRtctl({"serve-api", "--config", good, "--node", "0", "--listen", "nope"});
  CHECK(bad_listen->WaitExit() == 2);
}

}  // namespace rt
