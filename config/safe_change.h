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
  // kRouting: the slices [first_slice, last_slice] (clipped to ProtectedSlice) whose effective
  // replica sets change, and both lists of sets (nullopt: no routing entry applied). Unused for
  // the other kinds.
  int64_t first_slice = 0;
  int64_t last_slice = 0;
  std::optional<std::vector<ReplicaSet>> old_nodes;
  std::optional<std::vector<ReplicaSet>> new_nodes;
  // kRouting: the first slice from which the same change would be safe (the slice
  // after the protected horizon). nullopt for the other kinds: never safe.
  std::optional<int64_t> safe_from_slice;
  std::string message;  // one line, e.g. "slices 3..5: old [0, 1] new [0, 1, 2]"
};

// The last slice that the two configs alone say may hold data, or receive it before
// every API node has reloaded: the one containing now + max-future-s +
// reload-interval-s, taking the larger of the old and new values of both (either
// config may be the one running on some node meanwhile). Computed with the old
// config's slice parameters; -1 when that time is before the first slice.
int64_t ProtectedHorizonSlice(const ClusterConfig& old_config, const ClusterConfig& new_config,
                              int64_t now_ms);

// What the two configs cannot know: data that earlier configs let in. A config that
// allowed events far ahead (max-future-s 300) may have been replaced by one that
// allows less (max-future-s 5); the slices the first one let data into hold data all
// the same, so a later change must not re-route them (docs/design.md §5 "Config and
// the safe-change rule"). The caller finds these numbers (by asking the workers, or
// from its memory of the configs it applied); config/ does no I/O. nullopt: nothing
// known, which protects nothing beyond ProtectedHorizonSlice.
struct SafeChangeContext {
  // The greatest slice that any worker of the running config holds data for.
  std::optional<int64_t> held_through_slice;
  // The greatest ProtectedHorizonSlice of every config that was running before (at
  // the time it was replaced): the slices those configs may have let data into.
  std::optional<int64_t> remembered_horizon_slice;
};

// The last slice whose effective node list must not change: the largest of
// ProtectedHorizonSlice(old, new, now) and the context's two slices; -1 when none.
int64_t ProtectedSlice(const ClusterConfig& old_config, const ClusterConfig& new_config,
                       int64_t now_ms, const SafeChangeContext& context);

// Every unsafe difference between `old_config` (running) and `new_config`, at the
// time `now_ms` (epoch ms), given what `context` knows of data let in before; empty
// when the change is safe. Rules:
//   * length-of-time-slice, first-slice (its resolved time) and timestamp-unit must
//     not change; if one of them does, the routing comparison is skipped (slice
//     numbers then mean different times);
//   * for every slice 0..ProtectedSlice the effective ordered list of replica sets,
//     and each set's ordered members, must stay identical (docs/design.md §14): a
//     member added to a set lacks the slice's history, a member removed may hold the
//     only complete copy, and a set's streams and spool are keyed by its members
//     (SetKey), so a reordered set is a different set. A set of one written "0" or
//     ["0"] is the same set. Exception: a slice that had no workers (before the old
//     first routing entry) may gain some, since no data can exist for it.
// Adjacent slices with the same pair of lists are reported as one range.
// A caller that passes no context (or an empty one) gets the two-config check only,
// which is not enough on its own: every production caller passes one.
std::vector<UnsafeChange> CheckSafeChange(const ClusterConfig& old_config,
                                          const ClusterConfig& new_config, int64_t now_ms,
                                          const SafeChangeContext& context = {});

}  // namespace rt
