#include "sim/reconfig_property.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "config/replica_set.h"
#include "config/slice_math.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "sim/fake_clock.h"
#include "sim/in_process_cluster.h"
#include "sim/load_driver.h"
#include "sim/oracle.h"
#include "sim/sync_client.h"
#include "sim/traffic_model.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

TEST_CASE("no sequence of configs accepted by the safe-change check splits a user",
          "[sim][safe][property]") {
  for (const uint64_t seed : {1, 2, 3}) {
    ReconfigPropertyOptions options;
    options.seed = seed;
    const Result<ReconfigPropertyReport> report = RunReconfigProperty(options);
    REQUIRE(report.ok());
    INFO("seed " << seed << ": " << report->accepted << " of " << report->offers
                 << " configs applied, " << report->events_accepted << " events");
    for (const std::string& failure : report->failures) UNSCOPED_INFO(failure);
    CHECK(report->ok());
    CHECK(report->undelivered == 0);
    // Not vacuous: some changes were applied, some refused, and events arrived.
    CHECK(report->accepted > 0);
    CHECK(report->accepted < report->offers);
    CHECK(report->events_accepted > 0);
  }
}

constexpr int64_t kFirstSliceS = 1577836800;  // 2020-01-01T00:00:00Z
constexpr int64_t kSliceS = 10;

// Eight users' clicks at `timestamp_ms`; returns how many were accepted.
uint64_t EightUsers(LoadDriver& driver, const std::vector<uint16_t>& ports, int64_t now_ms,
                    int64_t timestamp_ms) {
  std::vector<SimRequest> events;
  for (uint32_t user = 0; user < 8; ++user) {
    SimRequest r;
    r.user = user;
    r.send_ms = now_ms;
    r.timestamp_ms = timestamp_ms;
    events.push_back(r);
  }
  return driver.Send(events, ports).accepted;
}

// Mid-slice, 3.5 s into slice 1000.
constexpr int64_t kMidSlice1000Ms = (kFirstSliceS + 1000 * kSliceS) * 1000 + 3500;

// One API node and two workers on 10-second slices, data under `dir`.
Result<std::unique_ptr<InProcessCluster>> StartTwoWorkers(const testing::TempDir& dir,
                                                          const FakeClock& clock) {
  InProcessClusterOptions options;
  options.api_nodes = 1;
  options.workers = 2;
  options.first_slice_s = kFirstSliceS;
  options.slice_length_s = kSliceS;
  options.data_root = dir.path();
  return InProcessCluster::Start(options, clock);
}

}  // namespace

TEST_CASE(
    "the issue's sequence: lowering max-future-s does not make re-routing a slice that "
    "already holds data safe",
    "[sim][safe]") {
  testing::TempDir dir;
  FakeClock clock(kMidSlice1000Ms);
  Result<std::unique_ptr<InProcessCluster>> started = StartTwoWorkers(dir, clock);
  REQUIRE(started.ok());
  InProcessCluster& cluster = **started;
  Oracle oracle;
  LoadDriverOptions driver_options;
  driver_options.threads = 1;
  LoadDriver driver(oracle, kFirstSliceS * 1000, kSliceS * 1000, driver_options);
  const std::vector<uint16_t> ports = cluster.ApiPorts();

  // 1. max-future-s 300, reload-interval-s 1: events for a slice 30 s ahead.
  ClusterConfig config = cluster.config();
  config.max_future_s = 300;
  config.reload_interval_s = 1;
  config.routing = {{0, SetsOfOne({"0", "1"})}};
  REQUIRE(cluster.ApplyConfig(config).ok());
  const int64_t future_ms = clock.NowMillis() + 30'000;
  const int64_t future_slice = *SliceOfEpochMillis(config, future_ms);
  REQUIRE(future_slice == 1003);
  REQUIRE(EightUsers(driver, ports, clock.NowMillis(), future_ms) == 8);

  // 2. Lowering max-future-s to 5 is safe: nothing moves.
  config.max_future_s = 5;
  REQUIRE(cluster.ApplyConfig(config).ok());

  // 3. Re-routing the future slice is refused, although it lies beyond
  //    now + 5 + 1 s: a worker holds data for it, and the node remembers that the
  //    config of step 1 let events in up to now + 300 s.
  ClusterConfig rerouted = config;
  rerouted.routing.push_back({future_slice, SetsOfOne({"1", "0"})});
  rerouted.routing.push_back({future_slice + 1, SetsOfOne({"0", "1"})});
  const Status refused = cluster.ApplyConfig(rerouted);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.message(),
             Catch::Contains("slice 1003: routing changes from [0, 1] to [1, 0]"));
  // A slice beyond everything that may hold data can still be re-routed.
  ClusterConfig later = config;
  later.routing.push_back({1040, SetsOfOne({"1", "0"})});
  CHECK(cluster.ApplyConfig(later).ok());

  // 4. When the slice's time comes, the same eight users send again: eight unique.
  clock.Set(future_ms);
  REQUIRE(EightUsers(driver, ports, clock.NowMillis(), future_ms) == 8);
  driver.CloseConnections();
  REQUIRE(cluster.StopApiNodes(std::chrono::seconds(20)) == 0);
  SliceStats sum;
  for (uint16_t port : cluster.WorkerPorts()) {
    SyncHttpClient client(port, std::chrono::seconds(10));
    const std::string target = "/worker?slice=" + std::to_string(future_slice);
    SignedRequest parts;
    parts.method = "GET";
    parts.target = target;
    const std::string body_hash = Sha256HexOf("");
    parts.body_sha256_hex = body_hash;
    const SystemClock signing_clock;  // signatures are wall-clock timed (InProcessCluster)
    const Signature signature =
        RequestSigner(WorkerKey::Derive(InProcessClusterOptions().secret), signing_clock)
            .Sign(parts);
    Result<http::Response> answer =
        client.Get(target, {{std::string(kTimestampHeader), signature.timestamp},
                            {std::string(kSignatureHeader), signature.signature}});
    REQUIRE(answer.ok());
    Result<SliceStats> stats = ParseSliceStats(answer->body());
    REQUIRE(stats.ok());
    sum += *stats;
  }
  CHECK(sum.unique_users == 8);
  CHECK(sum.clicks == 16);
}

TEST_CASE("a reload is refused while a routed worker cannot say which slices it holds",
          "[sim][safe]") {
  testing::TempDir dir;
  FakeClock clock(kMidSlice1000Ms);
  Result<std::unique_ptr<InProcessCluster>> started = StartTwoWorkers(dir, clock);
  REQUIRE(started.ok());
  InProcessCluster& cluster = **started;

  ClusterConfig next = cluster.config();
  next.cache_ttl_ms = 0;  // a harmless change
  REQUIRE(cluster.StopWorker("1").ok());
  const Status refused = cluster.ApplyConfig(next);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.message(),
             Catch::Contains("cannot ask the workers which slices they hold: worker 1 (http://"));
  REQUIRE(cluster.RestartWorker("1").ok());
  CHECK(cluster.ApplyConfig(next).ok());
}

}  // namespace rt
