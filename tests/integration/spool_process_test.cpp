// The API node's spool with real processes (docs/design.md §13 "Spool"): kill -9 of
// the API node under load loses no accepted event and doubles none; a worker down
// under load is caught up exactly once from the spool.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/model/slice_stats.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

// One POST at a time, each event with its own user in one slice, so that the
// workers' unique users equal their events exactly when nothing was applied twice.
// Counts what the client saw: 202s per action, and events whose outcome it cannot
// know (the connection broke after the request was sent: the node may have spooled
// it and died before answering).
class Load {
 public:
  Load(uint16_t port, int64_t ts, uint64_t target_accepted)
      : port_(port), ts_(ts), target_(target_accepted) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t accepted() const { return clicks_ + impressions_; }
  uint64_t clicks() const { return clicks_; }
  uint64_t impressions() const { return impressions_; }
  uint64_t unknown() const { return unknown_clicks_ + unknown_impressions_; }
  uint64_t unknown_clicks() const { return unknown_clicks_; }
  uint64_t unknown_impressions() const { return unknown_impressions_; }
  uint64_t refused() const { return refused_; }
  bool done() const { return done_; }

 private:
  void Run() {
    // Bounded: at most 200 attempts per event wanted, and the caller's deadlines.
    const uint64_t max_attempts = target_ * 200;
    uint64_t user = 0;
    for (uint64_t attempt = 0; attempt < max_attempts && !stop_ && accepted() < target_;
         ++attempt) {
      const bool click = user % 4 == 0;
      const std::string target = "/analytics?timestamp=" + std::to_string(ts_) + "&user=u" +
                                 std::to_string(user) + (click ? "&click" : "&impression");
      testing::HttpTestConnection connection(port_, 5s);
      if (!connection.connected()) continue;  // the node is down: try again
      const std::optional<testing::TestResponse> response =
          connection.Exchange(testing::MakeTestRequest(bhttp::verb::post, target));
      if (!response) {
        (click ? unknown_clicks_ : unknown_impressions_)++;
      } else if (response->result() == bhttp::status::accepted) {
        (click ? clicks_ : impressions_)++;
      } else {
        refused_++;  // a 503: not accepted, the event is not counted anywhere
        continue;    // the same user again: it was not accepted
      }
      ++user;  // a new user for every event the node may hold
    }
    done_ = true;
  }

  const uint16_t port_;
  const int64_t ts_;
  const uint64_t target_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<uint64_t> clicks_{0};
  std::atomic<uint64_t> impressions_{0};
  std::atomic<uint64_t> unknown_clicks_{0};
  std::atomic<uint64_t> unknown_impressions_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

std::optional<SliceStats> FreshStats(uint16_t port, int64_t ts) {
  const auto response =
      testing::HttpFetch(port, bhttp::verb::get, "/analytics?timestamp=" + std::to_string(ts), "",
                         {{"Cache-Control", "no-cache"}});
  if (!response || response->result() != bhttp::status::ok) return std::nullopt;
  Result<SliceStats> stats = ParseSliceStats(response->body());
  if (!stats.ok()) return std::nullopt;
  return *stats;
}

// True once both workers' spools are empty (everything accepted is acknowledged).
bool SpoolsEmpty(uint16_t port) {
  for (const char* worker : {"0", "1"}) {
    const std::optional<double> events =
        testing::FetchMetric(port, std::string("rt_api_spool_events{worker=\"") + worker + "\"}");
    if (!events || *events != 0) return false;
  }
  return true;
}

TEST_CASE("kill -9 of the API node under load loses no accepted event and doubles none",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool")};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t ts = cluster.clock().Middle(cluster.clock().now_slice);
  Load load(cluster.api_port(), ts, 3000);
  for (uint64_t kill = 1; kill <= 3; ++kill) {
    REQUIRE(testing::WaitFor([&] { return load.accepted() >= kill * 600 || load.done(); }, 60s));
    cluster.KillApi();
    REQUIRE(cluster.RestartApi());
    // The restarted node resumed the spool it was killed on.
    CHECK(cluster.api().Stderr().find("cannot") == std::string::npos);
  }
  REQUIRE(testing::WaitFor([&] { return load.done(); }, 120s));
  load.Stop();
  REQUIRE(load.accepted() == 3000);
  REQUIRE(testing::WaitFor([&] { return SpoolsEmpty(cluster.api_port()); }, 60s));
  const std::optional<SliceStats> stats = FreshStats(cluster.api_port(), ts);
  REQUIRE(stats.has_value());
  INFO("202s: " << load.clicks() << " clicks, " << load.impressions()
                << " impressions; unknown outcome: " << load.unknown_clicks() << " clicks, "
                << load.unknown_impressions() << " impressions; workers: " << stats->clicks
                << " clicks, " << stats->impressions << " impressions, " << stats->unique_users
                << " users");
  // Nothing lost: every 202 is counted. Nothing doubled: every counted event is a
  // distinct user. The only slack is the few POSTs whose answer the kill cut off.
  CHECK(stats->clicks >= load.clicks());
  CHECK(stats->clicks <= load.clicks() + load.unknown_clicks());
  CHECK(stats->impressions >= load.impressions());
  CHECK(stats->impressions <= load.impressions() + load.unknown_impressions());
  CHECK(stats->unique_users == stats->clicks + stats->impressions);
  CHECK(cluster.StopApi() == 0);
}

TEST_CASE("a worker down under load is caught up from the spool exactly once",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool")};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const int64_t ts = cluster.clock().Middle(cluster.clock().now_slice);
  cluster.KillWorker(0);
  {
    Load load(cluster.api_port(), ts, 1000);
    REQUIRE(testing::WaitFor([&] { return load.done(); }, 120s));
    load.Stop();
    REQUIRE(load.accepted() == 1000);
    CHECK(load.unknown() == 0);
    // Worker 0's share waits in the spool; the node stays healthy meanwhile.
    const std::optional<double> held =
        testing::FetchMetric(cluster.api_port(), "rt_api_spool_events{worker=\"0\"}");
    REQUIRE(held.has_value());
    CHECK(*held > 0);
    const auto health = testing::HttpFetch(cluster.api_port(), bhttp::verb::get, "/healthz");
    REQUIRE(health.has_value());
    CHECK(health->result() == bhttp::status::ok);
    REQUIRE(cluster.RestartWorker(0));
    REQUIRE(testing::WaitFor([&] { return SpoolsEmpty(cluster.api_port()); }, 60s));
    const std::optional<SliceStats> stats = FreshStats(cluster.api_port(), ts);
    REQUIRE(stats.has_value());
    CHECK(stats->clicks == load.clicks());
    CHECK(stats->impressions == load.impressions());
    CHECK(stats->unique_users == 1000);
  }
  CHECK(cluster.StopApi() == 0);
}

TEST_CASE("serve-api spool flags: usage errors without --spool-dir, one line for a spool in use",
          "[integration][spool]") {
  testing::TempDir spool;
  testing::LocalCluster::Options options;
  options.api_args = {"--spool-dir", spool.Sub("spool")};
  testing::LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--spool-fsync"}, {"--spool-max-bytes", "1G"}}) {
    std::vector<std::string> args = {"serve-api", "--config", cluster.config_path(), "--node",
                                     "0",         "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto run = testing::StartRtctl(args, {"RT_SECRET=integration-test-secret"});
    CHECK(run->WaitExit() == 2);
    CHECK(run->Stderr().find("needs --spool-dir") != std::string::npos);
  }
  auto bad_size = testing::StartRtctl(
      {"serve-api", "--config", cluster.config_path(), "--node", "0", "--listen", "127.0.0.1:0",
       "--spool-dir", spool.Sub("other"), "--spool-max-bytes", "12XB"},
      {"RT_SECRET=integration-test-secret"});
  CHECK(bad_size->WaitExit() == 2);
  CHECK(bad_size->Stderr().find("--spool-max-bytes: not a byte count: \"12XB\"") !=
        std::string::npos);
  // The running node holds the spool: a second node on it exits 1 with one line.
  auto second = testing::StartRtctl({"serve-api", "--config", cluster.config_path(), "--node", "0",
                                     "--listen", "127.0.0.1:0", "--spool-dir", spool.Sub("spool")},
                                    {"RT_SECRET=integration-test-secret"});
  CHECK(second->WaitExit() == 1);
  const std::string said = second->Stderr();
  CHECK(said.find("in use") != std::string::npos);
  CHECK(std::count(said.begin(), said.end(), '\n') == 1);
}

}  // namespace
}  // namespace rt
