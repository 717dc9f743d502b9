// The end-to-end scenario of the original rt's tests, driven only through rtctl: one
// API node and three workers, events for four consecutive slices, and a reload that
// spreads the slices from the third on over all three workers. perworker must show
// 1, 1, 3, 3 workers and query --fresh an exact oracle for each slice.
//
// The timeline, chosen so that nothing waits for the wall clock: hour slices, now in
// the middle of slice 24 (LocalCluster's first-slice), and the four slices 20..23 in
// the past (late events are fine). The cluster starts with routing from slice 24
// only, so slices 20..23 have no workers yet and may gain any (docs/design.md §5
// "Config and the safe-change rule": no data can exist for them); the reload gives
// 20 and 21 worker 0 and 22 and 23 all three, and keeps slice 24 on worker 0. The
// API node applies it at once, and the test sends every slice's events afterwards.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/stream_events.h"
#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"
#include "sim/oracle.h"
#include "tests/support/local_cluster.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::RtctlRun;

RtctlRun Rtctl(const std::vector<std::string>& args) {
  RtctlRun run = testing::RunRtctl(args);
  INFO("rtctl did not exit in time: " << run.err);
  REQUIRE(run.code >= 0);
  return run;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Worker 0 from `first` (and from `current`, the slice holding now), all three workers
// from `first` + 2 up to `current`.
std::string Routing(int64_t first, int64_t current) {
  return R"([{"slice": )" + std::to_string(first) + R"(, "nodes": ["0"]}, {"slice": )" +
         std::to_string(first + 2) + R"(, "nodes": ["0", "1", "2"]}, {"slice": )" +
         std::to_string(current) + R"(, "nodes": ["0"]}])";
}

SliceStats StatsFromJson(const nlohmann::json& object) {
  return SliceStats{object.at("unique_users").get<uint64_t>(), object.at("clicks").get<uint64_t>(),
                    object.at("impressions").get<uint64_t>()};
}

}  // namespace

TEST_CASE(
    "workers added for the third of four slices: perworker shows 1, 1, 3, 3 and every "
    "slice equals the oracle",
    "[integration][e2e][reload]") {
  LocalCluster::Options options;
  options.workers = 3;
  options.past_slices = 24;
  options.routing_json = R"([{"slice": 24, "nodes": ["0"]}])";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();
  const testing::SliceClock& clock = cluster.clock();
  REQUIRE(clock.now_slice == 24);

  const int64_t first = clock.now_slice - 4;
  REQUIRE(cluster.WriteConfigAndReload(Routing(first, clock.now_slice)) ==
          LocalCluster::ReloadOutcome::kApplied);
  const std::vector<int64_t> slices = {first, first + 1, first + 2, first + 3};
  const std::vector<size_t> expected_workers = {1, 1, 3, 3};

  Oracle oracle;
  std::vector<int64_t> timestamps;
  for (size_t k = 0; k < slices.size(); ++k) {
    const int64_t ts = clock.Middle(slices[k]);
    timestamps.push_back(ts);

    // A seeded stream (its events computed below from the same seed) and one user,
    // "alice", who is active in every slice and so is a unique user in each.
    const uint64_t seed = 1000 + k;
    const RtctlRun stream =
        Rtctl({"send", "--api", api, "--count", "150", "--seed", std::to_string(seed), "--users",
               "40", "--timestamp", std::to_string(ts)});
    INFO("slice " << slices[k] << ": " << stream.err);
    REQUIRE(stream.code == 0);
    REQUIRE(stream.out.rfind("sent,150\naccepted,150\n", 0) == 0);
    cli::StreamEvents events(seed, 40, "", false, false);
    for (int i = 0; i < 150; ++i) {
      const cli::StreamEvent event = events.Next();
      oracle.Record(slices[k], event.user, event.click ? Action::kClick : Action::kImpression);
    }
    const RtctlRun alice = Rtctl({"send", "--api", api, "--user", "alice", "--impression",
                                  "--timestamp", std::to_string(ts)});
    REQUIRE(alice.code == 0);
    oracle.Record(slices[k], "alice", Action::kImpression);
  }

  // An event beyond max-future-s (300 s by default) is refused, and counted nowhere.
  const RtctlRun future = Rtctl({"send", "--api", api, "--user", "bob", "--click", "--timestamp",
                                 std::to_string(testing::NowMs() + 2 * clock.slice_ms)});
  CHECK(future.code == 1);
  CHECK(future.err.rfind("rtctl send: 400 ", 0) == 0);

  std::string expected_all;
  for (size_t k = 0; k < slices.size(); ++k) {
    const std::string ts = std::to_string(timestamps[k]);
    const std::string expected = FormatSliceStats(oracle.StatsFor(slices[k]));
    INFO("slice " << slices[k] << " (#" << k + 1 << " of 4)");

    // The forwarding is asynchronous: wait (bounded) until the query is complete.
    RtctlRun query;
    testing::WaitFor(
        [&] {
          query = Rtctl({"query", "--api", api, "--fresh", "--timestamp", ts});
          return query.code == 0 && query.out == expected;
        },
        60s, 50ms);
    INFO(query.err);
    CHECK(query.code == 0);
    CHECK(query.out == expected);

    const RtctlRun perworker = Rtctl({"perworker", "--api", api, "--timestamp", ts});
    REQUIRE(perworker.code == 0);
    CHECK(CountOf(perworker.out, "worker,") == expected_workers[k]);
    const Result<std::vector<StatsRecord>> records = ParseStatsRecords(perworker.out);
    REQUIRE(records.ok());
    SliceStats sum;
    std::set<std::string> workers;
    for (const StatsRecord& record : *records) {
      CHECK(record.slice == slices[k]);
      sum += record.stats;
      workers.insert(record.worker);
      // Every worker of the slice holds some of its 40 users.
      CHECK(record.stats.unique_users > 0);
    }
    CHECK(sum == oracle.StatsFor(slices[k]));
    if (expected_workers[k] == 1) {
      CHECK(workers == std::set<std::string>{cluster.worker_url(0)});
    } else {
      CHECK(workers == std::set<std::string>{cluster.worker_url(0), cluster.worker_url(1),
                                             cluster.worker_url(2)});
    }

    const RtctlRun json = Rtctl({"perworker", "--api", api, "--json", "--timestamp", ts});
    REQUIRE(json.code == 0);
    const nlohmann::json array = nlohmann::json::parse(json.out);
    CHECK(array.size() == expected_workers[k]);
    SliceStats json_sum;
    for (const auto& object : array) json_sum += StatsFromJson(object);
    CHECK(json_sum == oracle.StatsFor(slices[k]));

    expected_all += "slice," + std::to_string(slices[k]) + "\n" + expected;
  }

  const RtctlRun all = Rtctl({"allslices", "--api", api});
  CHECK(all.code == 0);
  CHECK(all.out == expected_all);
}

}  // namespace rt
