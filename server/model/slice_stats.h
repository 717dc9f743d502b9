#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// The three numbers kept per slice. Summing the stats of the workers of a slice
// gives the exact answer because every event of one user in one slice goes to the
// same worker, so no user is counted by two workers.
struct SliceStats {
  uint64_t unique_users = 0;
  uint64_t clicks = 0;
  uint64_t impressions = 0;

  SliceStats& operator+=(const SliceStats& other) {
    unique_users += other.unique_users;
    clicks += other.clicks;
    impressions += other.impressions;
    return *this;
  }
  friend SliceStats operator+(SliceStats a, const SliceStats& b) { return a += b; }
  friend bool operator==(const SliceStats&, const SliceStats&) = default;
};

// The stats text of docs/design.md §1 "What rt is":
// "unique_users,N\nclicks,N\nimpressions,N\n".
std::string FormatSliceStats(const SliceStats& stats);
// Appends the same text to `out` (no temporaries; for hot paths).
void AppendSliceStats(std::string& out, const SliceStats& stats);

// Parses the text form. Accepts rt's "unqiue_users" spelling, a missing final
// newline and "\r\n" line ends; every one of the three lines must appear exactly
// once. Errors name the line and quote the bad text.
[[nodiscard]] Result<SliceStats> ParseSliceStats(std::string_view text);

}  // namespace rt
