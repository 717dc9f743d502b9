#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/model/slice_stats.h"

namespace rt {

// One block of an API node's stats answer: the three numbers, preceded by
// `slice,S` in /analytics/allslices and by `slice,S` and `worker,URL` in
// /analytics/perworker; `start,YYYY-MM-DDTHH:MM:SS` follows `slice,S` when the
// request asked for it (`with-start`).
struct StatsRecord {
  std::optional<int64_t> slice;
  std::string worker;  // empty unless the answer named one
  SliceStats stats;
  std::string start{};  // the slice's start (UTC) as the answer gave it; empty if not

  friend bool operator==(const StatsRecord&, const StatsRecord&) = default;
};

// Parses any of the three answers (`GET /analytics`, `/perworker`, `/allslices`):
// `key,value` lines, where `slice` starts a new block and a repeated count key
// does too. Accepts rt's `unqiue_users`, "\r\n" and a missing final newline.
// Every block must hold all three numbers. Errors name the line.
[[nodiscard]] Result<std::vector<StatsRecord>> ParseStatsRecords(std::string_view text);

// The records summed per slice (records without a slice are left out): for a
// perworker answer, each slice's total over its workers, which is exact because no
// user of a slice is counted by two workers.
std::map<int64_t, SliceStats> SumBySlice(const std::vector<StatsRecord>& records);

}  // namespace rt
