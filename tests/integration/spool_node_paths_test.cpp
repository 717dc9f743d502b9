// The spool's node-level paths with real processes (docs/design.md §13 "Spool"),
// beyond kill -9 and a worker outage (spool_process_test.cpp): a full spool, SIGTERM
// with a worker down, events orphaned by a config, and a spool I/O error.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "server/model/slice_stats.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

// What the client was promised: 202s by action. Every event has its own user, so a
// worker's unique users equal its events exactly when nothing was applied twice.
struct Promised {
  uint64_t clicks = 0;
  uint64_t impressions = 0;
  uint64_t refused = 0;  // 503s
  uint64_t accepted() const { return clicks + impressions; }
};

// POSTs events u<first>.. one at a time until `want` got a 202, or `stop_after_503`
// 503s were seen (0: never stop for them), at most `max_attempts` POSTs. Every 503
// must carry Retry-After.
Promised Send(uint16_t port, int64_t ts, uint64_t want, uint64_t stop_after_503 = 0,
              uint64_t max_attempts = 5000) {
  Promised promised;
  for (uint64_t user = 0; user < max_attempts && promised.accepted() < want; ++user) {
    const bool click = user % 4 == 0;
    const auto response =
        testing::HttpFetch(port, bhttp::verb::post,
                           "/analytics?timestamp=" + std::to_string(ts) + "&user=u" +
                               std::to_string(user) + (click ? "&click" : "&impression"));
    REQUIRE(response.has_value());
    if (response->result() == bhttp::status::accepted) {
      (click ? promised.clicks : promised.impressions)++;
      continue;
    }
    REQUIRE(response->result() == bhttp::status::service_unavailable);
    CHECK(response->find(bhttp::field::retry_after) != response->end());
    ++promised.refused;
    if (stop_after_503 > 0 && promised.refused >= stop_after_503) break;
  }
  return promised;
}

std::optional<SliceStats> WorkerStats(uint16_t port, int64_t slice) {
  const auto response =
      testing::SignedFetch(port, bhttp::verb::get, "/worker?slice=" + std::to_string(slice));
  if (!response || response->result() != bhttp::status::ok) return std::nullopt;
  Result<SliceStats> stats = ParseSliceStats(response->body());
  if (!stats.ok()) return std::nullopt;
  return *stats;
}

// The sum over both workers of what they hold for `slice`.
std::optional<SliceStats> BothWorkers(testing::LocalCluster& cluster, int64_t slice) {
  const auto a = WorkerStats(cluster.worker_port(0), slice);
  const auto b = WorkerStats(cluster.worker_port(1), slice);
  if (!a || !b) return std::nullopt;
  return *a + *b;
}

bool SpoolEmpty(uint16_t port, const std::string& worker) {
  const auto events = testing::FetchMetric(port, "rt_api_spool_events{worker=\"" + worker + "\"}");
  return events && *events == 0;
}

// Both workers' spools empty within 30 s: every accepted event was acknowledged.
bool BothSpoolsDrain(const testing::LocalCluster& cluster) {
  return testing::WaitFor(
      [&] { return SpoolEmpty(cluster.api_port(), "0") && SpoolEmpty(cluster.api_port(), "1"); },
      30s);
}

void CheckExactlyPromised(testing::LocalCluster& cluster, int64_t slice, const Promised& p) {
  const std::optional<SliceStats> stats = BothWorkers(cluster, slice);
  REQUIRE(stats.has_value());
  CHECK(stats->clicks == p.clicks);
  CHECK(stats->impressions == p.impressions);
  CHECK(stats->unique_users == p.accepted());
}

int Health(uint16_t port) {
  const auto health = testing::HttpFetch(port, bhttp::verb::get, "/healthz");
  return health ? static_cast<int>(health->result_int()) : -1;
}

TEST_CASE("a full spool answers 503 with Retry-After, counts it, and loses nothing accepted",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool"),      "--spool-max-bytes",
                      "16KiB",       "--spool-segment-bytes", "4KiB"};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t ts = cluster.clock().Middle(cluster.clock().now_slice);
  cluster.KillWorker(0);
  // Two 4 KiB segments (~110 events) for worker 0 at least, so the 503s start within
  // a few hundred events; worker 1's half goes through meanwhile.
  const Promised promised = Send(cluster.api_port(), ts, 5000, 10);
  REQUIRE(promised.refused == 10);
  CHECK(promised.accepted() > 100);
  // Every 503 counted once. The budget is the node's: worker 1 can meet it too when
  // it rolls over while its previous segment still waits for the worker's
  // acknowledgement (two segments of backlog), so the split between the workers is
  // not fixed, only that worker 0's backlog hit it.
  const double full_0 =
      testing::FetchMetric(cluster.api_port(), "rt_api_spool_full_total{worker=\"0\"}").value_or(0);
  const double full_1 =
      testing::FetchMetric(cluster.api_port(), "rt_api_spool_full_total{worker=\"1\"}").value_or(0);
  CHECK(full_0 >= 1);
  CHECK(full_0 + full_1 == 10);
  REQUIRE(cluster.RestartWorker(0));
  REQUIRE(BothSpoolsDrain(cluster));
  CheckExactlyPromised(cluster, cluster.clock().now_slice, promised);
  CHECK(cluster.StopApi() == 0);
}

TEST_CASE("SIGTERM with a worker down keeps its events for the next start, delivered once",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool"), "--drain-timeout-s", "1"};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t ts = cluster.clock().Middle(cluster.clock().now_slice);
  cluster.KillWorker(0);
  const Promised promised = Send(cluster.api_port(), ts, 300);
  REQUIRE(promised.accepted() == 300);
  REQUIRE(promised.refused == 0);
  CHECK(cluster.StopApi() == 0);
  CHECK(cluster.api().Stderr().find("stay in the spool") != std::string::npos);
  REQUIRE(cluster.RestartApi());
  REQUIRE(cluster.RestartWorker(0));
  REQUIRE(BothSpoolsDrain(cluster));
  CheckExactlyPromised(cluster, cluster.clock().now_slice, promised);
  CHECK(cluster.StopApi() == 0);
}

// The cluster's config with every slice on worker 0 and worker 1 not named at all.
std::string OnlyWorker0(const testing::LocalCluster& cluster) {
  return "{\"api-nodes\": {\"0\": \"" + cluster.api_url() + "/analytics\"},\n" +
         "\"worker-nodes\": {\"0\": \"" + cluster.worker_url(0) + "\"},\n" +
         "\"length-of-time-slice\": 3600, \"first-slice\": \"" + cluster.clock().first_slice +
         "\",\n\"routing\": [{\"slice\": 0, \"nodes\": [\"0\"]}]}\n";
}

TEST_CASE(
    "events spooled for a worker no config names: ERROR at start, 503 health, then "
    "delivered once a config names it",
    "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool"), "--drain-timeout-s", "1"};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t slice = cluster.clock().now_slice;
  const int64_t ts = cluster.clock().Middle(slice);
  cluster.KillWorker(1);
  const Promised promised = Send(cluster.api_port(), ts, 200);
  REQUIRE(promised.accepted() == 200);
  CHECK(cluster.StopApi() == 0);  // worker 1's share stays in the spool

  std::ofstream(cluster.config_path()) << OnlyWorker0(cluster);
  REQUIRE(cluster.RestartApi());
  const std::string said = cluster.api().Stderr();
  CHECK(said.find("ERROR the spool holds") != std::string::npos);
  CHECK(said.find("for worker 1, which the config does not name") != std::string::npos);
  CHECK(Health(cluster.api_port()) == 503);
  const auto held = testing::FetchMetric(cluster.api_port(), "rt_api_spool_events{worker=\"1\"}");
  REQUIRE(held.has_value());
  CHECK(*held > 0);

  // Named again (routing unchanged, so the change is safe): delivered, healthy.
  const std::string only_0 = R"([{"slice": 0, "nodes": ["0"]}])";
  cluster.WriteConfig(only_0);  // names worker 1 again (serve-worker reads it too)
  REQUIRE(cluster.RestartWorker(1));
  REQUIRE(cluster.WriteConfigAndReload(only_0) == testing::LocalCluster::ReloadOutcome::kApplied);
  REQUIRE(testing::WaitFor([&] { return SpoolEmpty(cluster.api_port(), "1"); }, 30s));
  CHECK(Health(cluster.api_port()) == 200);
  CheckExactlyPromised(cluster, slice, promised);
  CHECK(cluster.StopApi() == 0);
}

TEST_CASE("a spool that cannot be written makes serve-api exit 1 with one line",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster cluster(testing::LocalCluster::Options{});
  REQUIRE(cluster.Start());
  CHECK(cluster.StopApi() == 0);
  // RLIMIT_FSIZE 0 (SIGXFSZ ignored, so write() fails with EFBIG): the spool's first
  // write, a new worker spool's `stream` file at start, fails as a broken disk would.
  // (A segment's posix_fallocate failing the same way is a full spool, a 503:
  // tests/unit/spool/spool_disk_test.cpp.)
  testing::Process api("/bin/sh",
                       {"-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"", testing::RtctlPath(),
                        "serve-api", "--config", cluster.config_path(), "--node", "0", "--listen",
                        "127.0.0.1:0", "--spool-dir", spool.Sub("spool")},
                       {"RT_SECRET=integration-test-secret"});
  REQUIRE(api.started());
  CHECK(api.WaitExit(20s) == 1);
  const std::string said = api.Stderr();
  INFO(said);
  CHECK(said.find("rtctl serve-api: spool of worker 0") != std::string::npos);
  CHECK(said.find("stream.tmp: File too large") != std::string::npos);
  CHECK(std::count(said.begin(), said.end(), '\n') == 1);
}

// Makes a directory immutable (chattr +i) for as long as it lives: even root can then
// create, rename or unlink nothing in it, while files already open stay writable,
// as a spool disk whose metadata writes fail mid-run. Lifted again on destruction so
// that the temp dir can be removed whatever the test did.
class ImmutableDir {
 public:
  explicit ImmutableDir(std::string dir) : dir_(std::move(dir)) {
    ok_ = std::system(("chattr +i '" + dir_ + "'").c_str()) == 0;
  }
  ~ImmutableDir() { Lift(); }
  ImmutableDir(const ImmutableDir&) = delete;
  ImmutableDir& operator=(const ImmutableDir&) = delete;
  bool ok() const { return ok_; }
  void Lift() {
    if (ok_) ok_ = std::system(("chattr -i '" + dir_ + "'").c_str()) != 0;
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

TEST_CASE(
    "a spool write failing mid-run makes serve-api exit 1 with one line, and a restart "
    "delivers every 202 exactly once",
    "[integration][spool]") {
  if (::geteuid() != 0) {
    WARN("not root: chattr +i needs CAP_LINUX_IMMUTABLE; the mid-run spool failure is not tested");
    return;
  }
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  // 8 KiB segments (~200 events): the spool creates a new segment file, and writes its
  // cursor, every few hundred events.
  options.api_args = {"--spool-dir", spool.Sub("spool"), "--spool-segment-bytes", "8KiB"};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t slice = cluster.clock().now_slice;
  const int64_t ts = cluster.clock().Middle(slice);
  Promised promised = Send(cluster.api_port(), ts, 300);
  REQUIRE(promised.accepted() == 300);

  // Worker 0's spool directory stops taking new files: its next segment or cursor
  // write fails (EPERM), which the node must treat as fatal.
  ImmutableDir frozen(spool.Sub("spool") + "/0");
  REQUIRE(frozen.ok());
  // One POST at a time with users continuing from Send's; a POST whose connection
  // broke before its answer has an unknown outcome (the node may have spooled it).
  uint64_t unknown_clicks = 0;
  uint64_t unknown_impressions = 0;
  std::optional<int> exit_code;
  for (uint64_t user = promised.accepted() + promised.refused; user < 20000; ++user) {
    const bool click = user % 4 == 0;
    const auto response =
        testing::HttpFetch(cluster.api_port(), bhttp::verb::post,
                           "/analytics?timestamp=" + std::to_string(ts) + "&user=u" +
                               std::to_string(user) + (click ? "&click" : "&impression"));
    if (response && response->result() == bhttp::status::accepted) {
      (click ? promised.clicks : promised.impressions)++;
      continue;
    }
    if (response) {
      // Refused (a 503 once the spool has failed): not accepted, but with a reason.
      CHECK(response->result() == bhttp::status::service_unavailable);
      continue;
    }
    (click ? unknown_clicks : unknown_impressions)++;
    exit_code = cluster.api().WaitExit(20s);
    break;
  }
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 1);
  const std::string said = cluster.api().Stderr();
  INFO(said);
  // The last line says why, naming the file in worker 0's spool; no other line does.
  const size_t why = said.find("Operation not permitted");
  REQUIRE(why != std::string::npos);
  CHECK(said.find("Operation not permitted", why + 1) == std::string::npos);
  const size_t line = said.rfind('\n', said.size() - 2) + 1;  // npos + 1 == 0
  CHECK(why > line);
  CHECK(said.find("/0/", line) != std::string::npos);
  CHECK(promised.accepted() > 300);

  // The disk is back: the same spool resumes and delivers everything promised.
  frozen.Lift();
  REQUIRE(cluster.RestartApi());
  REQUIRE(BothSpoolsDrain(cluster));
  const std::optional<SliceStats> stats = BothWorkers(cluster, slice);
  REQUIRE(stats.has_value());
  INFO("202s: " << promised.clicks << " clicks, " << promised.impressions
                << " impressions; unknown outcome: " << unknown_clicks << " clicks, "
                << unknown_impressions << " impressions");
  CHECK(stats->clicks >= promised.clicks);
  CHECK(stats->clicks <= promised.clicks + unknown_clicks);
  CHECK(stats->impressions >= promised.impressions);
  CHECK(stats->impressions <= promised.impressions + unknown_impressions);
  CHECK(stats->unique_users == stats->clicks + stats->impressions);
  CHECK(cluster.StopApi() == 0);
}

}  // namespace
}  // namespace rt
