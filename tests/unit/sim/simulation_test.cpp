#include "sim/simulation.h"

#include <algorithm>
#include <catch2/catch.hpp>

namespace rt {
namespace {

TEST_CASE("the scenario's change hours scale with --hours unless given", "[sim][scenario]") {
  SimulationOptions options;
  ScenarioHours hours = ResolveScenarioHours(options);
  CHECK(hours.add_workers == 12);
  CHECK(hours.add_api == 20);
  CHECK(hours.restart == 30);
  CHECK(hours.unsafe == 40);
  CHECK(hours.crash_api == 25);

  options.hours = 8;
  hours = ResolveScenarioHours(options);
  CHECK(hours.add_workers == 2);
  CHECK(hours.add_api == 3);
  CHECK(hours.restart == 5);
  CHECK(hours.unsafe == 6);
  CHECK(hours.crash_api == 4);

  options.restart_at = 1;
  CHECK(ResolveScenarioHours(options).restart == 1);
  options.crash_api_at = 7;
  CHECK(ResolveScenarioHours(options).crash_api == 7);
}

TEST_CASE("changes a short run would not see are named", "[sim][scenario]") {
  SimulationOptions options;
  options.hours = 8;
  CHECK(ChangesOutsideRun(options).empty());

  // --hours 1 scales every change to hour 0: the workers join for slice 1, never run.
  options.hours = 1;
  const std::vector<std::string> one_hour = ChangesOutsideRun(options);
  REQUIRE(one_hour.size() == 1);
  CHECK(one_hour[0] == "workers join at hour 0 (for slices from 1)");

  options.hours = 4;
  options.add_workers_at = 10;
  const std::vector<std::string> late = ChangesOutsideRun(options);
  REQUIRE(late.size() == 1);
  CHECK(late[0] == "workers join at hour 10 (for slices from 11)");

  options.added_workers = 0;  // no workers to add: nothing skipped
  options.unsafe_at = 4;
  const std::vector<std::string> unsafe = ChangesOutsideRun(options);
  REQUIRE(unsafe.size() == 1);
  CHECK(unsafe[0] == "an unsafe change is tried at hour 4");

  options.unsafe_at.reset();
  options.crash_api_at = 9;
  const std::vector<std::string> crash = ChangesOutsideRun(options);
  REQUIRE(crash.size() == 1);
  CHECK(crash[0] == "an API node crashes at hour 9");
}

TEST_CASE("a simulation with impossible options fails before starting anything",
          "[sim][scenario]") {
  SimulationOptions options;
  options.hours = 0;
  const Result<SimReport> report = RunSimulation(options);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().message() == "--hours must be at least 1, not 0");

  options.hours = 1;
  options.first_slice = "2024-02-30T00:00:00";
  CHECK_FALSE(RunSimulation(options).ok());
}

}  // namespace
}  // namespace rt

namespace rt {
namespace {

SimulationOptions TinyScenario() {
  SimulationOptions options;
  // Changes at hours 1 (workers, API node), 2 (worker restart, API-node crash), 3
  // (unsafe).
  options.hours = 4;
  options.events_per_hour = 300;
  options.users = 200;
  options.seed = 5;
  options.client_threads = 2;
  return options;
}

TEST_CASE("a tiny scenario through every change matches the oracle exactly", "[sim][scenario]") {
  const Result<SimReport> report = RunSimulation(TinyScenario());
  REQUIRE(report.ok());
  for (const auto& failure : report->failures) UNSCOPED_INFO(failure);
  CHECK(report->ok());
  // Every POST got a 202 but those the crash cut off (their outcome is unknown).
  CHECK(report->events() + report->unknown == 4 * 300);
  CHECK(report->rejected == report->unknown);
  REQUIRE(report->slices.size() == 4);
  uint64_t clicks = 0, impressions = 0;
  for (const SliceRow& row : report->slices) {
    CHECK(row.match());
    clicks += row.oracle.clicks;
    impressions += row.oracle.impressions;
    // Only the crash hour's slice (and the late events sent then) may have slack.
    if (row.slack != SliceStats{}) CHECK(report->unknown > 0);
  }
  CHECK(clicks + impressions == report->events());
  CHECK(report->slices[3].workers.size() == 4);  // two workers joined for slice 2 on
  CHECK(report->slices[0].workers.size() == 2);
  // The changes, and after each fault hour the oracle check with the cluster
  // running (sim/fault_check.h).
  std::vector<std::string> changes, checks;
  for (const std::string& c : report->changes) {
    (c.find("after the fault") != std::string::npos ? checks : changes).push_back(c);
  }
  REQUIRE(changes.size() == 5);
  CHECK(changes.back().find("refused by every API node") != std::string::npos);
  CHECK(std::count_if(changes.begin(), changes.end(), [](const std::string& c) {
          return c.find("API node 0 crashed") != std::string::npos;
        }) == 1);
  // The crash and the worker restart share hour 2: one check after that hour.
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].rfind("hour 2 ", 0) == 0);
  CHECK(report->data_dir.empty());
}

TEST_CASE("the same seed gives the same per-slice numbers", "[sim][scenario]") {
  SimulationOptions options = TinyScenario();
  options.hours = 2;
  options.crash_api_at = 2;  // no crash: the POSTs it cuts off differ from run to run
  const Result<SimReport> first = RunSimulation(options);
  const Result<SimReport> second = RunSimulation(options);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(first->slices.size() == second->slices.size());
  for (size_t i = 0; i < first->slices.size(); ++i) {
    CHECK(first->slices[i].oracle == second->slices[i].oracle);
    CHECK(first->slices[i].cluster == second->slices[i].cluster);
  }
}

}  // namespace
}  // namespace rt
