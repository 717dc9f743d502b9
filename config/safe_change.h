#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.h"

namespace rt {

// One way in which replacing a running config by a new one would make data wrong
// (docs/design.md §5 "Config and the safe-change rule").
struct UnsafeChange {
  enum class Kind { kRouting, kSliceLength, kFirstSlice, kTimestampUnit };

  Kind kind = Kind::kRouting;
  // kRouting: the slices [first_slice, last_slice] (clipped to the protected
  // horizon) whose effective node list changes, and both lists (nullopt: no routing
  // entry applied). Unused for the other kinds.
  int64_t first_slice = 0;
  int64_t last_slice = 0;
  std::optional<std::vector<std::string>> old_nodes;
  std::optional<std::vector<std::string>> new_nodes;
  // kRouting: the first slice from which the same change would be safe (the slice
  // after the protected horizon). nullopt for the other kinds: never safe.
  std::optional<int64_t> safe_from_slice;
  std::string message;  // one line, e.g. "slices 3..5: old [0, 1] new [0, 1, 2]"
};

// The last slice that may hold data, or receive it before every API node has
// reloaded: the one containing now + max-future-s + reload-interval-s, taking the
// larger of the old and new values of both (either config may be the one running
// on some node meanwhile). Computed with the old config's slice parameters; -1 when
// that time is before the first slice.
int64_t ProtectedHorizonSlice(const ClusterConfig& old_config, const ClusterConfig& new_config,
                              int64_t now_ms);

// Every unsafe difference between `old_config` (running) and `new_config`, at the
// time `now_ms` (epoch ms); empty when the change is safe. Rules:
//   * length-of-time-slice, first-slice (its resolved time) and timestamp-unit must
//     not change; if one of them does, the routing comparison is skipped (slice
//     numbers then mean different times);
//   * for every slice 0..ProtectedHorizonSlice the effective ordered node list must
//     stay identical. Exception: a slice that had no workers (before the old first
//     routing entry) may gain some, since no data can exist for it.
// Adjacent slices with the same pair of lists are reported as one range.
std::vector<UnsafeChange> CheckSafeChange(const ClusterConfig& old_config,
                                          const ClusterConfig& new_config, int64_t now_ms);

}  // namespace rt
