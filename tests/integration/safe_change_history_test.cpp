// The safe-change check with history, through real processes: data that an earlier
// config let in (far-future events under a large max-future-s) keeps its slice's
// routing fixed after max-future-s is lowered, in the API node's hot reload and in
// validate-config --against; `rtctl slice` reports it; unknown config keys are logged
// by the nodes and refused with --strict.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "config/utc_time.h"
#include "server/model/slice_stats.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::RtctlRun;
namespace bhttp = boost::beast::http;

constexpr int64_t kSliceS = 10;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<double> Metric(uint16_t port, const std::string& series) {
  return testing::FetchMetric(port, series);
}

// Waits (bounded) until `series` exceeds `before`; true if it did.
bool WaitForMetricAbove(uint16_t port, const std::string& series, double before) {
  return testing::WaitFor(
      [&] {
        const std::optional<double> value = Metric(port, series);
        return value && *value > before;
      },
      30s, 20ms);
}

const std::string kApplied = "rt_api_config_reloads_total{outcome=\"applied\"}";
const std::string kRefused = "rt_api_config_reloads_total{outcome=\"refused\"}";

// A config of `cluster` with its real API port (so that only the keys below differ).
std::string ConfigText(const LocalCluster& cluster, const std::string& first_slice,
                       int64_t max_future_s, const std::string& routing) {
  return "{\n  \"api-nodes\": {\"0\": \"http://127.0.0.1:" + std::to_string(cluster.api_port()) +
         "/analytics\"},\n  \"worker-nodes\": {\"0\": \"" + cluster.worker_url(0) +
         "\", \"1\": \"" + cluster.worker_url(1) +
         "\"},\n  \"length-of-time-slice\": " + std::to_string(kSliceS) +
         ",\n  \"first-slice\": \"" + first_slice +
         "\",\n  \"max-future-s\": " + std::to_string(max_future_s) +
         ",\n  \"reload-interval-s\": 1,\n  \"routing\": " + routing + "\n}\n";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::rename((path + ".tmp").c_str(), path.c_str());
}

SliceStats FreshStats(uint16_t port, int64_t ts) {
  const auto response =
      testing::HttpFetch(port, bhttp::verb::get, "/analytics?timestamp=" + std::to_string(ts), "",
                         {{"Cache-Control", "no-cache"}});
  if (!response || response->result_int() != 200) return {};
  const Result<SliceStats> stats = ParseSliceStats(response->body());
  return stats.ok() ? *stats : SliceStats{};
}

}  // namespace

TEST_CASE(
    "after max-future-s is lowered, re-routing a future slice that holds data is refused by "
    "the reload and by validate-config --against",
    "[integration][reload][safe]") {
  // now lies 4 s into slice 1000: nothing below waits for a slice boundary.
  const int64_t first_slice_s = NowMs() / 1000 - 1000 * kSliceS - 4;
  const std::string first_slice = FormatUtcTime(first_slice_s);
  LocalCluster::Options options;
  options.workers = 2;
  options.slice_length_s = kSliceS;
  options.first_slice = first_slice;
  options.extra_json = R"("max-future-s": 300, "reload-interval-s": 1,)";
  options.routing_json = R"([{"slice": 0, "nodes": ["0", "1"]}])";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const uint16_t api = cluster.api_port();

  // 1. Eight users send for a slice 30 s ahead (accepted: max-future-s 300).
  const int64_t future_ts = NowMs() + 30'000;
  const int64_t future_slice = (future_ts / 1000 - first_slice_s) / kSliceS;
  for (int user = 0; user < 8; ++user) {
    const RtctlRun sent =
        testing::RunRtctl({"send", "--api", cluster.api_url(), "--user", "u" + std::to_string(user),
                           "--click", "--timestamp", std::to_string(future_ts)});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
  }
  CHECK(testing::WaitFor([&] { return FreshStats(api, future_ts).unique_users == 8; }, 30s, 20ms));
  REQUIRE(FreshStats(api, future_ts) == SliceStats{8, 8, 0});

  // 2. Lowering max-future-s to 5 is applied.
  const std::string routing = R"([{"slice": 0, "nodes": ["0", "1"]}])";
  const std::string lowered = ConfigText(cluster, first_slice, 5, routing);
  const double applied_before = Metric(api, kApplied).value_or(-1);
  WriteFile(cluster.config_path(), lowered);
  cluster.Reload();
  REQUIRE(WaitForMetricAbove(api, kApplied, applied_before));

  // 3. Re-routing the future slice: refused by validate-config --against (the workers
  //    say they hold it) and by the API node's reload.
  const std::string rerouted_routing =
      "[{\"slice\": 0, \"nodes\": [\"0\", \"1\"]}, {\"slice\": " + std::to_string(future_slice) +
      ", \"nodes\": [\"1\", \"0\"]}, {\"slice\": " + std::to_string(future_slice + 1) +
      ", \"nodes\": [\"0\", \"1\"]}]";
  const std::string rerouted = ConfigText(cluster, first_slice, 5, rerouted_routing);
  testing::TempDir dir;
  WriteFile(dir.Sub("old.json"), lowered);
  WriteFile(dir.Sub("new.json"), rerouted);
  const RtctlRun validated =
      testing::RunRtctl({"validate-config", dir.Sub("new.json"), "--against", dir.Sub("old.json")},
                        {"RT_WORKER_KEY=" + cluster.worker_key()});
  INFO(validated.out << validated.err);
  CHECK(validated.code == 1);
  CHECK_THAT(validated.out,
             Catch::Contains("asked workers of " + dir.Sub("old.json") +
                             ": 0, 1; greatest slice held: " + std::to_string(future_slice)));
  CHECK_THAT(validated.err, Catch::Contains("slice " + std::to_string(future_slice) +
                                            ": routing changes from [0, 1] to [1, 0]"));
  const RtctlRun offline = testing::RunRtctl(
      {"validate-config", dir.Sub("new.json"), "--against", dir.Sub("old.json"), "--offline"});
  CHECK_THAT(offline.err, Catch::Contains("warning: --offline"));

  const double refused_before = Metric(api, kRefused).value_or(-1);
  WriteFile(cluster.config_path(), rerouted);
  cluster.Reload();
  REQUIRE(WaitForMetricAbove(api, kRefused, refused_before));
  CHECK_THAT(cluster.api().Stderr(),
             Catch::Contains("unsafe change: slice " + std::to_string(future_slice) + ":"));
  CHECK(Metric(api, "rt_api_protected_slice").value_or(-1) >= static_cast<double>(future_slice));

  // rtctl slice sees the held slice too.
  const RtctlRun slice = testing::RunRtctl(
      {"slice", "--config", cluster.config_path(), "--timestamp", std::to_string(future_ts)},
      {"RT_WORKER_KEY=" + cluster.worker_key()});
  INFO(slice.err);
  REQUIRE(slice.code == 0);
  CHECK_THAT(slice.out, Catch::StartsWith("slice " + std::to_string(future_slice) + "\nstart "));
  CHECK_THAT(slice.out, Catch::Contains("\nheld-through " + std::to_string(future_slice) + "\n"));

  // The slice still has its eight users on the same workers.
  CHECK(FreshStats(api, future_ts) == SliceStats{8, 8, 0});
}

namespace {

// How many lines of `text` contain `needle`.
int CountLines(const std::string& text, const std::string& needle) {
  int count = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string::npos) ++count;
    start = end + 1;
  }
  return count;
}

std::string TypoConfig(const testing::TempDir& dir, const std::string& extra = "") {
  const std::string path = dir.Sub("typo.json");
  WriteFile(path, R"({
  "api-nodes": {"0": "http://127.0.0.1:1/analytics"},
  "worker-nodes": {"0": "http://127.0.0.1:2/worker"},
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",
  "max-futur-s": 5,)" +
                      extra + R"(
  "routing": [{"slice": 0, "nodes": ["0"]}]
})");
  return path;
}

}  // namespace

TEST_CASE("nodes log an unknown config key with its hint, and refuse it with --strict",
          "[integration][config]") {
  testing::TempDir dir;
  const std::string config = TypoConfig(dir);
  const std::string hint = "max-futur-s: unknown key (did you mean \"max-future-s\"?)";

  auto worker = testing::StartRtctl({"serve-worker", "--config", config, "--node", "0",
                                     "--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0"},
                                    {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  REQUIRE(worker->WaitForReadyPort());
  CHECK_THAT(worker->Stderr(),
             Catch::Contains("rt-worker[0]: config " + config + ":6: warning: " + hint));
  worker->Terminate();
  CHECK(worker->WaitExit() == 0);

  auto api = testing::StartRtctl(
      {"serve-api", "--config", config, "--node", "0", "--listen", "127.0.0.1:0"},
      {"RT_SECRET=integration-test-secret"});
  REQUIRE(api->WaitForReadyPort());
  CHECK_THAT(api->Stderr(),
             Catch::Contains("rt-api[0]: config " + config + ":6: warning: " + hint));
  api->Terminate();
  api->WaitExit();

  const RtctlRun strict_worker =
      testing::RunRtctl({"serve-worker", "--config", config, "--node", "0", "--data-dir",
                         dir.Sub("data2"), "--listen", "127.0.0.1:0", "--strict"},
                        {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  CHECK(strict_worker.code == 1);
  CHECK_THAT(strict_worker.err, Catch::Contains(hint));
  CHECK_THAT(strict_worker.err, Catch::Contains("--strict"));
  CHECK(CountLines(strict_worker.err, hint) == 1);  // one problem, one line
  const RtctlRun strict_api = testing::RunRtctl(
      {"serve-api", "--config", config, "--node", "0", "--listen", "127.0.0.1:0", "--strict"},
      {"RT_SECRET=integration-test-secret"});
  CHECK(strict_api.code == 1);
  CHECK_THAT(strict_api.err, Catch::Contains(hint));
  CHECK(CountLines(strict_api.err, hint) == 1);
}

TEST_CASE("rtctl slice prints a time's slice as key value lines, and --json",
          "[integration][cli]") {
  testing::TempDir dir;
  const std::string config = TypoConfig(dir);
  const RtctlRun text = testing::RunRtctl(
      {"slice", "--config", config, "--timestamp", "2020-01-02T01:30:00", "--offline"});
  REQUIRE(text.code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("slice 25\nstart 2020-01-02T01:00:00Z\n"
                                         "end 2020-01-02T02:00:00Z\nheld-through unknown\n"
                                         "safe-from "));
  const RtctlRun json = testing::RunRtctl(
      {"slice", "--config", config, "--timestamp", "1577928600000", "--offline", "--json"});
  REQUIRE(json.code == 0);
  CHECK_THAT(json.out, Catch::Contains("\"slice\": 25"));
  const RtctlRun seconds =
      testing::RunRtctl({"slice", "--config", config, "--timestamp", "1577928600", "--offline"});
  CHECK(seconds.code == 2);
  CHECK_THAT(seconds.err, Catch::Contains("looks like epoch seconds"));
  const RtctlRun help = testing::RunRtctl({"slice", "--help"});
  CHECK(help.code == 0);
}

// The README's steps for adding a worker, as a script runs them: the first slice a
// change may start at comes from `rtctl slice --field safe-from`, and a routing entry
// from there passes validate-config --against; one slice earlier does not.
TEST_CASE(
    "a routing change from the slice rtctl slice --field safe-from prints is safe, one slice "
    "earlier is not",
    "[integration][slice]") {
  LocalCluster::Options options;
  options.workers = 2;
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  // An event now, so that the workers hold the current slice.
  REQUIRE(
      testing::RunRtctl({"send", "--api", cluster.api_url(), "--user", "alice", "--click"}).code ==
      0);
  const std::vector<std::string> env = {"RT_WORKER_KEY=" + cluster.worker_key()};
  const RtctlRun slice =
      testing::RunRtctl({"slice", "--config", cluster.config_path(), "--field", "slice"}, env);
  REQUIRE(slice.code == 0);
  CHECK(slice.out == std::to_string(cluster.clock().now_slice) + "\n");
  const RtctlRun safe =
      testing::RunRtctl({"slice", "--config", cluster.config_path(), "--field", "safe-from"}, env);
  REQUIRE(safe.code == 0);
  INFO(safe.out << safe.err);
  const int64_t safe_from = std::stoll(safe.out);
  CHECK(safe.out == std::to_string(safe_from) + "\n");
  CHECK(safe_from > cluster.clock().now_slice);

  // The running config with the workers' order swapped from slice `from` on.
  std::ostringstream running;
  running << std::ifstream(cluster.config_path()).rdbuf();
  const size_t routing = running.str().find("\"routing\": ");
  REQUIRE(routing != std::string::npos);
  testing::TempDir dir;
  const auto grown = [&](int64_t from) {
    const std::string path = dir.Sub("new-" + std::to_string(from) + ".json");
    std::ofstream(path) << running.str().substr(0, routing)
                        << "\"routing\": [{\"slice\": 0, \"nodes\": [\"0\", \"1\"]}, {\"slice\": "
                        << from << ", \"nodes\": [\"1\", \"0\"]}]\n}\n";
    return path;
  };
  const std::string at_safe = grown(safe_from);
  const RtctlRun ok =
      testing::RunRtctl({"validate-config", at_safe, "--against", cluster.config_path()}, env);
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith(at_safe + ": safe to replace"));
  const RtctlRun early = testing::RunRtctl(
      {"validate-config", grown(safe_from - 1), "--against", cluster.config_path()}, env);
  INFO(early.out << early.err);
  CHECK(early.code == 1);
}

}  // namespace rt
