#include "config/safe_change.h"

#include <algorithm>
#include <limits>
#include <set>

#include "config/replica_set.h"
#include "config/routing.h"
#include "config/slice_math.h"
#include "config/utc_time.h"

namespace rt {
namespace {

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

std::optional<std::vector<ReplicaSet>> Copy(const std::vector<ReplicaSet>* nodes) {
  if (nodes == nullptr) return std::nullopt;
  return *nodes;
}

// The members of `of` that `in` lacks, as "2, 3".
std::string MembersNotIn(const ReplicaSet& of, const ReplicaSet& in) {
  std::string text;
  for (const std::string& member : of) {
    if (std::find(in.begin(), in.end(), member) != in.end()) continue;
    text += (text.empty() ? "" : ", ") + member;
  }
  return text;
}

// What is wrong with a change of multi-member sets beyond "users move" (the reason
// for sets of one): "" when neither list has a multi-member set or the change is not
// one of the shapes below.
std::string SetChangeReason(const std::vector<ReplicaSet>& old_sets,
                            const std::vector<ReplicaSet>& new_sets) {
  const auto multi = [](const ReplicaSet& set) { return set.size() > 1; };
  if (std::none_of(old_sets.begin(), old_sets.end(), multi) &&
      std::none_of(new_sets.begin(), new_sets.end(), multi)) {
    return "";
  }
  if (old_sets.size() != new_sets.size()) return "";
  std::vector<size_t> differing;
  for (size_t i = 0; i < old_sets.size(); ++i) {
    if (old_sets[i] != new_sets[i]) differing.push_back(i);
  }
  std::vector<std::string> old_keys;
  std::vector<std::string> new_keys;
  for (size_t i = 0; i < old_sets.size(); ++i) {
    old_keys.push_back(SetKey(old_sets[i]));
    new_keys.push_back(SetKey(new_sets[i]));
  }
  std::sort(old_keys.begin(), old_keys.end());
  std::sort(new_keys.begin(), new_keys.end());
  if (old_keys == new_keys) return "the sets are reordered, which moves users between sets";
  if (differing.size() != 1) return "";
  const size_t i = differing.front();
  const std::string set = "set " + std::to_string(i) + " ";
  const std::string gained = MembersNotIn(new_sets[i], old_sets[i]);
  const std::string lost = MembersNotIn(old_sets[i], new_sets[i]);
  if (gained.empty() && lost.empty()) {
    return set + "reorders its members, which makes it another set (its key, streams and spool)";
  }
  if (lost.empty()) return set + "gains " + gained + ", without these slices' data";
  if (gained.empty()) return set + "loses " + lost + ", which may hold the only complete copy";
  return "";
}

UnsafeChange ParameterChange(UnsafeChange::Kind kind, const std::string& key,
                             const std::string& old_value, const std::string& new_value) {
  UnsafeChange change;
  change.kind = kind;
  change.message = key + " changed from " + old_value + " to " + new_value +
                   ": it must never change (it moves every slice's data)";
  return change;
}

}  // namespace

int64_t ProtectedHorizonSlice(const ClusterConfig& old_config, const ClusterConfig& new_config,
                              int64_t now_ms) {
  const int64_t now_s = now_ms >= 0 ? now_ms / 1000 : -((-(now_ms + 1)) / 1000) - 1;
  const int64_t ahead =
      SaturatingAdd(std::max(old_config.max_future_s, new_config.max_future_s),
                    std::max(old_config.reload_interval_s, new_config.reload_interval_s));
  const int64_t horizon_s = SaturatingAdd(now_s, ahead);
  if (horizon_s < old_config.first_slice_s) return -1;
  const Result<int64_t> slice =
      SliceOfEpochMillis(old_config, horizon_s > std::numeric_limits<int64_t>::max() / 1000
                                         ? std::numeric_limits<int64_t>::max()
                                         : horizon_s * 1000);
  return slice.ok() ? *slice : -1;
}

int64_t ProtectedSlice(const ClusterConfig& old_config, const ClusterConfig& new_config,
                       int64_t now_ms, const SafeChangeContext& context) {
  int64_t slice = ProtectedHorizonSlice(old_config, new_config, now_ms);
  for (const std::optional<int64_t>& floor :
       {context.held_through_slice, context.remembered_horizon_slice}) {
    if (floor) slice = std::max(slice, *floor);
  }
  return slice;
}

std::vector<UnsafeChange> CheckSafeChange(const ClusterConfig& old_config,
                                          const ClusterConfig& new_config, int64_t now_ms,
                                          const SafeChangeContext& context) {
  std::vector<UnsafeChange> changes;
  if (old_config.slice_length_s != new_config.slice_length_s) {
    changes.push_back(ParameterChange(UnsafeChange::Kind::kSliceLength, "length-of-time-slice",
                                      std::to_string(old_config.slice_length_s),
                                      std::to_string(new_config.slice_length_s)));
  }
  if (old_config.first_slice_s != new_config.first_slice_s) {
    changes.push_back(ParameterChange(UnsafeChange::Kind::kFirstSlice, "first-slice",
                                      FormatUtcTime(old_config.first_slice_s),
                                      FormatUtcTime(new_config.first_slice_s)));
  }
  if (old_config.timestamp_unit != new_config.timestamp_unit) {
    changes.push_back(ParameterChange(UnsafeChange::Kind::kTimestampUnit, "timestamp-unit",
                                      std::string(TimestampUnitName(old_config.timestamp_unit)),
                                      std::string(TimestampUnitName(new_config.timestamp_unit))));
  }
  if (!changes.empty()) return changes;

  const int64_t horizon = ProtectedSlice(old_config, new_config, now_ms, context);
  if (horizon < 0) return changes;
  // The effective lists only change at routing entries, so comparing one slice per
  // segment between consecutive entry slices (of either config) covers all slices.
  std::set<int64_t> starts = {0};
  for (const ClusterConfig* config : {&old_config, &new_config}) {
    for (const RoutingEntry& entry : config->routing) {
      if (entry.slice > 0 && entry.slice <= horizon) starts.insert(entry.slice);
    }
  }
  for (auto it = starts.begin(); it != starts.end(); ++it) {
    const int64_t first = *it;
    const int64_t last = std::next(it) == starts.end() ? horizon : *std::next(it) - 1;
    const std::vector<ReplicaSet>* old_nodes = SetsForSlice(old_config, first);
    const std::vector<ReplicaSet>* new_nodes = SetsForSlice(new_config, first);
    if (old_nodes == nullptr) continue;  // no workers before: no data can exist
    if (new_nodes != nullptr && *old_nodes == *new_nodes) continue;
    if (!changes.empty() && changes.back().last_slice + 1 == first &&
        changes.back().old_nodes == Copy(old_nodes) &&
        changes.back().new_nodes == Copy(new_nodes)) {
      changes.back().last_slice = last;
    } else {
      UnsafeChange change;
      change.kind = UnsafeChange::Kind::kRouting;
      change.first_slice = first;
      change.last_slice = last;
      change.old_nodes = Copy(old_nodes);
      change.new_nodes = Copy(new_nodes);
      change.safe_from_slice = horizon + 1;
      changes.push_back(std::move(change));
    }
  }
  for (UnsafeChange& change : changes) {
    const std::string range = change.first_slice == change.last_slice
                                  ? "slice " + std::to_string(change.first_slice)
                                  : "slices " + std::to_string(change.first_slice) + ".." +
                                        std::to_string(change.last_slice);
    const std::vector<ReplicaSet>* old_list = change.old_nodes ? &*change.old_nodes : nullptr;
    const std::vector<ReplicaSet>* new_list = change.new_nodes ? &*change.new_nodes : nullptr;
    std::string reason;
    if (old_list != nullptr && new_list != nullptr) reason = SetChangeReason(*old_list, *new_list);
    change.message = range + ": routing changes from " + JoinNodes(old_list) + " to " +
                     JoinNodes(new_list) + (reason.empty() ? "" : ": " + reason) +
                     " (safe only from slice " + std::to_string(horizon + 1) + ")";
  }
  return changes;
}

}  // namespace rt
