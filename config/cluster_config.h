#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rt {

// The unit of the `timestamp` query parameter (config key `timestamp-unit`).
enum class TimestampUnit { kMilliseconds, kSeconds };

// "milliseconds" / "seconds", as written in the config file.
std::string_view TimestampUnitName(TimestampUnit unit);

// The worker ids of one replica set (docs/design.md §14): every member receives every
// event routed to the set. Most sets have one member; the config writes those as a
// plain id ("0"), which means the same as a one-element list (["0"]).
// Beware brace lists: `std::vector<ReplicaSet> sets = {"0", "1"}` compiles as the
// iterator-pair constructor over two unrelated char pointers (undefined behaviour);
// write {{"0"}, {"1"}} or SetsOfOne({"0", "1"}) (config/replica_set.h).
using ReplicaSet = std::vector<std::string>;

// From the entry's `slice` on (until the next entry), events of a slice go to one of
// `nodes` (replica sets), chosen by the user's routing hash. The order matters: it is
// part of the routing function, so reordering the sets moves users between them.
struct RoutingEntry {
  int64_t slice = 0;
  std::vector<ReplicaSet> nodes;

  bool operator==(const RoutingEntry&) const = default;
};

// A cluster config (docs/config.md) after loading: the values are converted and
// defaulted, `first-slice` is resolved to epoch seconds. A ClusterConfig returned by
// LoadClusterConfig / ParseClusterConfig has passed ValidateClusterConfig without
// errors: routing is non-empty with strictly increasing, non-negative slices, every
// set is non-empty, every node id names a worker and is in at most one set of its
// entry, slice_length_s > 0.
// A plain value: copy it freely; not synchronized (share it as a const snapshot,
// e.g. behind a shared_ptr<const ClusterConfig>, when reloading).
struct ClusterConfig {
  static constexpr int64_t kDefaultCacheTtlMs = 1000;
  static constexpr int64_t kDefaultReloadIntervalS = 30;
  static constexpr int64_t kDefaultMaxFutureS = 300;
  static constexpr int64_t kDefaultMaxLateSlices = 24;

  std::map<std::string, std::string> api_nodes;     // id → URL, http://host:port/analytics
  std::map<std::string, std::string> worker_nodes;  // id → URL, http://host:port/worker
  int64_t slice_length_s = 3600;                    // length-of-time-slice
  int64_t first_slice_s = 0;                        // start of slice 0, epoch seconds (UTC)
  bool first_slice_is_system = false;               // first-slice was "system" (process start)
  std::vector<RoutingEntry> routing;                // ascending by slice
  TimestampUnit timestamp_unit = TimestampUnit::kMilliseconds;
  int64_t cache_ttl_ms = kDefaultCacheTtlMs;
  int64_t reload_interval_s = kDefaultReloadIntervalS;
  int64_t max_future_s = kDefaultMaxFutureS;
  // none (`null` in the file): late events of any age are accepted, and workers never
  // seal a slice (docs/design.md §7 "Store records").
  std::optional<int64_t> max_late_slices = kDefaultMaxLateSlices;

  bool operator==(const ClusterConfig&) const = default;
};

}  // namespace rt
