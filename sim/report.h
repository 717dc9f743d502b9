#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/model/slice_stats.h"

namespace rt {

// One slice as the simulator checked it at the end of a run.
struct SliceRow {
  int64_t slice = 0;
  int64_t start_s = 0;  // epoch seconds (UTC)
  SliceStats oracle;
  std::optional<SliceStats> cluster;    // GET /analytics (no-cache); nullopt: failed
  std::optional<SliceStats> perworker;  // sum of GET /analytics/perworker; nullopt: failed
  std::vector<std::string> workers;     // the slice's routing list (ids)
  // What POSTs of unknown outcome (in flight at an API-node crash) may add to each
  // number (Oracle::SlackFor); zero for most slices, which must match exactly.
  SliceStats slack;

  // Both answers equal the oracle's numbers, or lie within [oracle, oracle + slack].
  bool match() const { return Within(cluster) && Within(perworker); }
  bool Within(const std::optional<SliceStats>& answer) const {
    auto in = [](uint64_t a, uint64_t e, uint64_t s) { return a >= e && a <= e + s; };
    return answer && in(answer->unique_users, oracle.unique_users, slack.unique_users) &&
           in(answer->clicks, oracle.clicks, slack.clicks) &&
           in(answer->impressions, oracle.impressions, slack.impressions);
  }
};

// The traffic sent during one simulated hour, as the clients saw it.
struct HourRow {
  int64_t hour = 0;
  uint64_t posts = 0;     // POSTs sent
  uint64_t accepted = 0;  // POSTs answered 202 (recorded by the oracle)
  uint64_t gets = 0;
  uint64_t get_errors = 0;  // GETs not answered 200 (e.g. 503 while a worker restarts)
};

// Everything a run of `rtctl simulate` reports. A plain value.
struct SimReport {
  uint64_t seed = 0;
  int64_t simulated_hours = 0;
  int api_nodes = 0;
  int workers = 0;  // at the start
  std::vector<SliceRow> slices;
  std::vector<HourRow> hours;
  std::vector<std::string> changes;   // what the scenario did, one line each
  std::vector<std::string> failures;  // why the run failed, one line each (mismatches first)
  uint64_t rejected = 0;              // POSTs that never got a 202 (another answer, or none)
  // Of them, POSTs cut off by an API-node crash: no answer, so whether the crashed
  // node spooled them is unknown (the oracle's slack).
  uint64_t unknown = 0;
  double wall_s = 0;
  std::string data_dir;  // where the data was kept (--keep-data); empty when removed

  bool ok() const { return failures.empty(); }
  uint64_t events() const;      // accepted POSTs
  uint64_t gets() const;        // GETs sent during the run
  uint64_t get_errors() const;  // of them, not answered 200
  uint64_t mismatches() const;  // slices that do not match
  double events_per_s() const;
};

// The per-slice table: slice, start (UTC), "oracle / cluster" for each of the three
// numbers, the workers, and "ok" or "MISMATCH". One header line, one line per slice.
std::string FormatSliceTable(const SimReport& report);

// "simulate: ok: 960000 events, 48 slices, 0 mismatches, 48 simulated hours, 21.3 s
// wall, 45070 events/s" (one line, no newline).
std::string FormatSummaryLine(const SimReport& report);

// The whole report as one JSON object (pretty-printed, final newline).
std::string FormatReportJson(const SimReport& report);

// A self-contained HTML page: inline SVG chart of events per hour (cluster vs oracle
// per slice, accepted per hour of sending), the changes, the failures and the
// per-slice table. No scripts, no external resources.
std::string FormatReportHtml(const SimReport& report);

}  // namespace rt
