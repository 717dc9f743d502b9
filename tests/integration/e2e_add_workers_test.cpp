// The end-to-end scenario of the original rt's tests, driven only through rtctl: one
// API node and three workers, events for four consecutive slices, and a reload that
// spreads the slices from the third on over all three workers. perworker must show
// 1, 1, 3, 3 workers and query --fresh an exact oracle for each slice.
//
// The timeline: slices are two seconds long, max-future-s is 1 and reload-interval-s
// is 1, so a routing change is safe for slices after the one holding now + 2 s. The
// test first picks the third slice safely past that horizon and reloads, then waits
// for each of the four slices to begin and sends its events (an event may not be
// more than max-future-s ahead of the node's clock; late events are fine). Nothing
// depends on how fast the machine is: the first and second slice may well be past by
// the time their events are sent, and a refused reload is retried further ahead.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/stream_events.h"
#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"
#include "sim/oracle.h"
#include "tests/support/local_cluster.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::RtctlRun;

constexpr int64_t kFirstSliceMs = 1577836800000;  // 2020-01-01T00:00:00Z
constexpr int64_t kSliceMs = 2000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SliceOf(int64_t ts) { return (ts - kFirstSliceMs) / kSliceMs; }

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

std::string Routing(int64_t from_slice) {
  std::string routing = R"([{"slice": 0, "nodes": ["0"]})";
  if (from_slice > 0) {
    routing += R"(, {"slice": )" + std::to_string(from_slice) + R"(, "nodes": ["0", "1", "2"]})";
  }
  return routing + "]";
}

// Rewrites the routing so that workers 1 and 2 join from a slice safely in the
// future, and waits until the API node has applied it; returns that slice. A
// reload refused because the machine was too slow to stay ahead of the horizon is
// retried with a wider margin.
int64_t ReloadWithWorkersFromFutureSlice(LocalCluster& cluster) {
  const std::string applied = "config reloaded from";
  const std::string refused = "config reload refused";
  int64_t margin_ms = 6000;
  for (int attempt = 0; attempt < 4; ++attempt, margin_ms *= 2) {
    const size_t applied_before = CountOf(cluster.api().Stderr(), applied);
    const size_t refused_before = CountOf(cluster.api().Stderr(), refused);
    // now + max-future-s + reload-interval-s, plus the margin for a slow machine.
    const int64_t from_slice = SliceOf(NowMs() + 1000 + 1000 + margin_ms) + 1;
    cluster.WriteConfig(Routing(from_slice));
    cluster.Reload();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string log = cluster.api().Stderr();
      if (CountOf(log, applied) > applied_before) return from_slice;
      if (CountOf(log, refused) > refused_before) break;
      std::this_thread::sleep_for(20ms);
    }
  }
  FAIL("the API node never applied the routing change:\n" << cluster.api().Stderr());
  return -1;
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
  options.slice_length_s = 2;
  options.extra_json = R"("max-future-s": 1, "reload-interval-s": 1,)";
  options.routing_json = Routing(0);
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const std::string api = cluster.api_url();

  const int64_t third = ReloadWithWorkersFromFutureSlice(cluster);
  const std::vector<int64_t> slices = {third - 2, third - 1, third, third + 1};
  const std::vector<size_t> expected_workers = {1, 1, 3, 3};

  Oracle oracle;
  std::vector<int64_t> timestamps;
  for (size_t k = 0; k < slices.size(); ++k) {
    const int64_t ts = kFirstSliceMs + slices[k] * kSliceMs + 500;
    timestamps.push_back(ts);
    // Bounded: the slices lie at most ~60 s ahead (the widest retry margin).
    while (NowMs() < ts) std::this_thread::sleep_for(20ms);

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

  // An event beyond max-future-s is refused, and counted nowhere.
  const RtctlRun future = Rtctl({"send", "--api", api, "--user", "bob", "--click", "--timestamp",
                                 std::to_string(NowMs() + 30'000)});
  CHECK(future.code == 1);
  CHECK(future.err.rfind("rtctl send: 400 ", 0) == 0);

  std::string expected_all;
  for (size_t k = 0; k < slices.size(); ++k) {
    const std::string ts = std::to_string(timestamps[k]);
    const std::string expected = FormatSliceStats(oracle.StatsFor(slices[k]));
    INFO("slice " << slices[k] << " (#" << k + 1 << " of 4)");

    // The forwarding is asynchronous: wait (bounded) until the query is complete.
    RtctlRun query;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    do {
      query = Rtctl({"query", "--api", api, "--fresh", "--timestamp", ts});
      if (query.code == 0 && query.out == expected) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
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
