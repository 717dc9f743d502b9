#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/status.h"
#include "server/model/slice_stats.h"

namespace rt::cli {

// One block of an API node's stats answer: the three numbers, preceded by
// `slice,S` in /analytics/allslices and by `slice,S` and `worker,URL` in
// /analytics/perworker.
struct StatsRecord {
  std::optional<int64_t> slice;
  std::string worker;  // empty unless the answer named one
  SliceStats stats;

  friend bool operator==(const StatsRecord&, const StatsRecord&) = default;
};

// Parses any of the three answers (`GET /analytics`, `/perworker`, `/allslices`):
// `key,value` lines, where `slice` starts a new block and a repeated count key
// does too. Accepts rt's `unqiue_users`, "\r\n" and a missing final newline.
// Every block must hold all three numbers. Errors name the line.
[[nodiscard]] Result<std::vector<StatsRecord>> ParseStatsRecords(std::string_view text);

// {"unique_users":N,"clicks":N,"impressions":N}
std::string FormatStatsJson(const SliceStats& stats);

// A JSON array with one object per record: "slice" and "worker" when present,
// then the three numbers.
std::string FormatRecordsJson(const std::vector<StatsRecord>& records);

// An aligned table with a header row: a slice column if any record has a slice,
// a worker column if any has a worker, then unique_users, clicks, impressions.
// With `total_row` (and a slice or worker column to label it), a last row `total` sums the records
// (exact for the workers of one slice, since no user is counted by two workers).
std::string FormatRecordsTable(const std::vector<StatsRecord>& records, bool total_row);

}  // namespace rt::cli
