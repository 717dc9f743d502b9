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
#include <thread>

#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"
#include "sim/oracle.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestConnection;
using testing::LocalCluster;
using testing::MakeTestRequest;
namespace bhttp = boost::beast::http;

constexpr int64_t kFirstSliceMs = 1577836800000;  // 2020-01-01T00:00:00Z

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Events until a GET without cache shows them: the API node forwards in batches.
void WaitUntilCounted(uint16_t port, int64_t ts, const SliceStats& expected) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto response = Get(port, "/analytics?timestamp=" + std::to_string(ts));
    if (response && response->result_int() == 200) {
      const Result<SliceStats> stats = ParseSliceStats(response->body());
      if (stats.ok() && *stats == expected) return;
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("every hour's totals equal an exact oracle", "[integration][api]") {
  LocalCluster cluster({});
  REQUIRE(cluster.Start());
  HttpTestConnection connection(cluster.api_port());
  REQUIRE(connection.connected());

  const int64_t now = NowMs();
  const int64_t hour = 3600 * 1000;
  const int64_t current_slice = (now - kFirstSliceMs) / hour;
  Oracle oracle;
  std::mt19937_64 random(7);
  for (int i = 0; i < 3000; ++i) {
    // 90% now, the rest up to five hours back.
    const int64_t ts = random() % 10 == 0 ? now - static_cast<int64_t>(random() % (5 * hour))
                                          : now - static_cast<int64_t>(random() % 1000);
    const std::string user = "user" + std::to_string(random() % 400);
    const bool click = random() % 3 == 0;
    REQUIRE(PostEvent(connection, ts, user, click) == 202);
    oracle.Record((ts - kFirstSliceMs) / hour, user, click ? Action::kClick : Action::kImpression);
  }
  WaitUntilCounted(cluster.api_port(), now, oracle.StatsFor(current_slice));

  for (const auto& [slice, expected] : oracle.AllSlices()) {
    const int64_t ts = kFirstSliceMs + slice * hour + 17;
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

  const auto all = Get(cluster.api_port(), "/analytics/allslices");
  REQUIRE(all);
  REQUIRE(all->result_int() == 200);
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
  // Two-second slices so that a "future" slice arrives within the test.
  LocalCluster::Options options;
  options.workers = 2;
  options.slice_length_s = 2;
  options.extra_json = "\"max-future-s\": 2, \"reload-interval-s\": 1, \"cache-ttl-ms\": 0,";
  options.routing_json = "[{\"slice\": 0, \"nodes\": [\"0\"]}]";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());

  // The new entry must start past the protected horizon (now + max-future-s +
  // reload-interval-s) when the node checks it: if a loaded machine delays the
  // reload that long, it is refused, and the test tries again further ahead.
  const int64_t slice_ms = 2000;
  int64_t future_slice = 0;
  bool applied = false;
  for (int64_t margin_ms = 8000; margin_ms <= 64000 && !applied; margin_ms *= 2) {
    future_slice = (NowMs() + margin_ms - kFirstSliceMs) / slice_ms;
    cluster.WriteConfig("[{\"slice\": 0, \"nodes\": [\"0\"]}, {\"slice\": " +
                        std::to_string(future_slice) + ", \"nodes\": [\"0\", \"1\"]}]");
    const size_t refused_before = CountOf(cluster.api().Stderr(), "config reload refused");
    cluster.Reload();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string log = cluster.api().Stderr();
      if (log.find("config reloaded") != std::string::npos) {
        applied = true;
        break;
      }
      if (CountOf(log, "config reload refused") > refused_before) break;
      std::this_thread::sleep_for(20ms);
    }
  }
  REQUIRE(applied);

  // An unsafe change: the current slice would move to worker 1.
  const int64_t current_slice = (NowMs() - kFirstSliceMs) / slice_ms;
  const size_t refused_before = CountOf(cluster.api().Stderr(), "config reload refused");
  cluster.WriteConfig("[{\"slice\": 0, \"nodes\": [\"1\"]}]");
  cluster.Reload();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (CountOf(cluster.api().Stderr(), "config reload refused") == refused_before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(CountOf(cluster.api().Stderr(), "config reload refused") == refused_before + 1);
  CHECK(cluster.api().Stderr().find("unsafe change") != std::string::npos);
  const auto before =
      Get(cluster.api_port(), "/analytics/perworker?timestamp=" +
                                  std::to_string(kFirstSliceMs + current_slice * slice_ms));
  REQUIRE(before);
  CHECK(SumPerWorker(before->body()).second == 1);

  // Wait for the future slice, then its users spread over both workers.
  while ((NowMs() - kFirstSliceMs) / slice_ms < future_slice) std::this_thread::sleep_for(50ms);
  const int64_t ts = kFirstSliceMs + future_slice * slice_ms + 1;
  HttpTestConnection connection(cluster.api_port());
  for (int i = 0; i < 200; ++i)
    REQUIRE(PostEvent(connection, ts, "u" + std::to_string(i), true) == 202);
  WaitUntilCounted(cluster.api_port(), ts, SliceStats{200, 200, 0});
  const auto perworker =
      Get(cluster.api_port(), "/analytics/perworker?timestamp=" + std::to_string(ts));
  REQUIRE(perworker);
  const auto [sum, workers] = SumPerWorker(perworker->body());
  CHECK(workers == 2);
  CHECK(sum == SliceStats{200, 200, 0});
  CHECK(perworker->body().find("unique_users,0\n") == std::string::npos);
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
  const int64_t slice = (now - kFirstSliceMs) / 3600000;
  WaitUntilCounted(cluster.api_port(), now, oracle.StatsFor(0));
  CHECK(GetSlice(cluster.api_port(), now) == oracle.StatsFor(0));
  (void)slice;
  REQUIRE(cluster.StopApi() == 0);
  CHECK(cluster.api().Stderr().find("every accepted event was delivered") != std::string::npos);
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
  auto unknown = testing::StartRtctl({"serve-api", "--config", good, "--node", "7"});
  CHECK(unknown->WaitExit() == 1);
  CHECK(unknown->Stderr().find("\"7\"") != std::string::npos);

  // Two nodes on one port: the second cannot listen and says so in one line.
  auto first = testing::StartRtctl(
      {"serve-api", "--config", good, "--node", "0", "--listen", "127.0.0.1:0"}, {"RT_SECRET=s"});
  const std::optional<uint16_t> port = first->WaitForReadyPort();
  REQUIRE(port);
  auto second = testing::StartRtctl({"serve-api", "--config", good, "--node", "0", "--listen",
                                     "127.0.0.1:" + std::to_string(*port)},
                                    {"RT_SECRET=s"});
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
