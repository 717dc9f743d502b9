#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "config/cluster_config.h"

namespace rt {

// Slice arithmetic of docs/design.md §2 "Write path":
//   slice = floor((ts_seconds − first_slice) / length_of_time_slice)
// where ts_seconds is the timestamp converted from the configured unit (rounded
// down, so a millisecond timestamp belongs to the second it falls in). Every
// function here is exact on the whole int64 range: an overflow or a timestamp before
// the first slice is an error, never a wrapped or negative slice.

// Epoch seconds of any date before the year 5138 are below this, epoch milliseconds
// of any date after 1973-03-03 are at or above it: the number that tells a value in
// the wrong unit from one in the right unit, for the reasons of refused timestamps.
inline constexpr int64_t kEpochSecondsMillisSplit = 100'000'000'000;

// Parses the `timestamp` parameter: an optional '-' and decimal digits, nothing else
// (no '+', spaces, fractions). "99999999999999999999" is an out-of-range error.
[[nodiscard]] Result<int64_t> ParseTimestamp(std::string_view text);

// The slice of a timestamp given in the config's unit.
[[nodiscard]] Result<int64_t> SliceOfTimestamp(const ClusterConfig& config, int64_t timestamp);

// The slice of an epoch time in milliseconds, whatever the config's unit (for the
// node's clock).
[[nodiscard]] Result<int64_t> SliceOfEpochMillis(const ClusterConfig& config, int64_t epoch_ms);

// A timestamp in the config's unit as epoch milliseconds (for comparing with the
// clock, e.g. max-future-s); an error if that overflows.
[[nodiscard]] Result<int64_t> TimestampToEpochMillis(const ClusterConfig& config,
                                                     int64_t timestamp);

// The start of a slice in epoch seconds. Saturates at the int64 limits instead of
// overflowing. REQUIRES: slice >= 0.
int64_t SliceStartSeconds(const ClusterConfig& config, int64_t slice);

// The start of a slice in the config's timestamp unit (the smallest timestamp that
// falls in it); an error if it does not fit in int64.
[[nodiscard]] Result<int64_t> SliceStartTimestamp(const ClusterConfig& config, int64_t slice);

}  // namespace rt
