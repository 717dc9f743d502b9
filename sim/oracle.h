#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "server/model/action.h"
#include "server/model/slice_stats.h"

namespace rt {

// A slice whose numbers in the cluster differ from the oracle's.
struct SliceMismatch {
  int64_t slice = 0;
  SliceStats expected;               // the oracle's
  std::optional<SliceStats> actual;  // the cluster's; nullopt when it has no such slice
  SliceStats slack;                  // Oracle::SlackFor: what unknown outcomes may add

  // "slice 7: unique_users 5 != 4 (oracle != cluster), clicks ..." — only the
  // numbers that differ.
  std::string Describe() const;
};

// The exact answer, kept independently of the cluster: per slice, the set of raw
// usernames and the click and impression counters of every event the cluster
// acknowledged (202). The simulator records an event only after its 202, so the
// cluster must end up with exactly these numbers: a lost event, a retry counted
// twice or a user split across workers shows up as a mismatch.
// Thread-safety: every method may be called from any thread (one mutex; the
// simulator's client threads record concurrently).
//
// Outcome unknown. A POST whose answer never came (its API node crashed with the
// request in flight) may or may not have been spooled: RecordUnknown keeps it apart.
// A slice with such events matches when each number lies between the exact one and
// the exact one plus what the unknown events could add (SlackFor); a slice without
// them must match exactly. A lost 202 still shows (below the exact number), and so
// does a doubled batch unless it is smaller than the slack (a few events at most,
// one per client connection to the crashed node).
class Oracle {
 public:
  void Record(int64_t slice, std::string_view user, Action action);
  void RecordUnknown(int64_t slice, std::string_view user, Action action);

  SliceStats StatsFor(int64_t slice) const;
  // The most the unknown events of `slice` can add to each number: their clicks,
  // their impressions, and their users that no 202 of the slice brought.
  SliceStats SlackFor(int64_t slice) const;
  uint64_t unknown_events() const;
  std::map<int64_t, SliceStats> AllSlices() const;
  uint64_t events() const;

  // Every slice where `cluster` differs from the oracle, ascending; empty when they
  // agree (within the slack of unknown outcomes, see above). A slice the oracle knows
  // but `cluster` lacks is a mismatch, and so is a slice with non-zero numbers the
  // oracle has never seen.
  std::vector<SliceMismatch> Compare(const std::map<int64_t, SliceStats>& cluster) const;

 private:
  struct Slice {
    std::unordered_set<std::string> users;
    uint64_t clicks = 0;
    uint64_t impressions = 0;

    void Add(std::string_view user, Action action);
  };

  static SliceStats StatsOf(const Slice& slice);
  SliceStats SlackLocked(int64_t slice) const;

  mutable std::mutex mutex_;
  std::map<int64_t, Slice> slices_;
  std::map<int64_t, Slice> unknown_;
  uint64_t events_ = 0;
  uint64_t unknown_events_ = 0;
};

}  // namespace rt
