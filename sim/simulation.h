#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/report.h"

namespace rt {

// The scenario of `rtctl simulate` (docs/design.md §10 "Simulator"). Every number is
// a flag.
struct SimulationOptions {
  int64_t hours = 48;
  uint64_t events_per_hour = 20'000;
  int api_nodes = 2;
  int workers = 2;
  uint64_t seed = 1;
  uint64_t users = 50'000;
  std::string first_slice = "2024-01-01T00:00:00";  // UTC; slices are 3600 s long

  // The hours of the changes; nullopt: the 48-hour defaults (12, 20, 25, 30, 40)
  // scaled to `hours`, so a short run passes through every change too. A change at
  // an hour >= hours does not happen.
  std::optional<int64_t> add_workers_at;  // `added_workers` join for the next slices
  std::optional<int64_t> add_api_at;      // one more API node joins
  std::optional<int64_t> restart_at;      // a worker stops and restarts, traffic going on
  std::optional<int64_t> unsafe_at;       // an unsafe config change must be refused
  // API node 0 crashes in the middle of the hour, traffic going on, and restarts on
  // its spool (docs/design.md §10 "Simulator")
  std::optional<int64_t> crash_api_at;
  int added_workers = 2;
  // Workers per replica set (docs/design.md §14): the workers (and the added ones) are
  // grouped into sets of this many, in id order. With 2 or more, the restart hour's
  // worker is one member of a set, reads during its downtime must all answer, and at
  // the wipe hour a member loses its data dir and is reseeded from its peer.
  int replicas = 1;
  std::optional<int64_t> wipe_at;  // replicas >= 2: the disk-loss hour (default 35 of 48)

  int client_threads = 4;
  int chunks_per_hour = 12;  // the fake clock steps once per chunk (5 simulated minutes)
  bool keep_data = false;    // keep the temporary dir (its path is in the report)
  // Called after every chunk with the simulated hours done (fractional) and the total.
  std::function<void(double done, int64_t total)> progress;
};

// The hours of the five changes for `options` (defaults scaled to options.hours).
struct ScenarioHours {
  int64_t add_workers = 0;
  int64_t add_api = 0;
  int64_t restart = 0;
  int64_t unsafe = 0;
  int64_t crash_api = 0;
  int64_t wipe = 0;
};
ScenarioHours ResolveScenarioHours(const SimulationOptions& options);

// The scenario's changes that a run of options.hours hours would not see: a change
// at an hour >= hours does not happen, and workers added at hour h only take the
// slices from h + 1, so they get no traffic unless h + 1 < hours. One phrase each
// ("workers join at hour 10 (for slices from 11)"); empty when every change happens.
std::vector<std::string> ChangesOutsideRun(const SimulationOptions& options);

// Runs the scenario: an InProcessCluster on a FakeClock, the TrafficModel's requests
// through the LoadDriver, the changes, then (after draining every API node) every
// slice read back with no-cache GETs from a fresh API node and compared with the
// Oracle. The report's failures list every mismatch and every scenario step that
// went wrong (a refused safe change, an accepted unsafe one, events not delivered,
// POSTs rejected, or unanswered other than at the crash); report.ok() means the
// cluster was exact (within the slack of the POSTs the crash cut off, Oracle).
// An error Status only when the run could not take place (bad options, no temp dir,
// a node that cannot start).
[[nodiscard]] Result<SimReport> RunSimulation(const SimulationOptions& options);

}  // namespace rt
