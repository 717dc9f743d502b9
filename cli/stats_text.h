#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/model/slice_stats.h"
#include "server/model/stats_records.h"

namespace rt::cli {

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
