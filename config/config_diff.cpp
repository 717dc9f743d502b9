#include "config/config_diff.h"

#include <algorithm>
#include <vector>

#include "config/replica_set.h"

namespace rt {
namespace {

// "slice 5 [0,1+2]": sets by SetKey.
std::string FormatEntry(const RoutingEntry& entry) {
  std::string text = "slice " + std::to_string(entry.slice) + " [";
  for (size_t i = 0; i < entry.nodes.size(); ++i) {
    if (i > 0) text += ',';
    text += SetKey(entry.nodes[i]);
  }
  text += ']';
  return text;
}

// The entries of `of` that `in` does not hold (same slice and list), `; `-separated.
std::string EntriesNotIn(const std::vector<RoutingEntry>& of, const std::vector<RoutingEntry>& in) {
  std::string text;
  for (const RoutingEntry& entry : of) {
    if (std::find(in.begin(), in.end(), entry) != in.end()) continue;
    if (!text.empty()) text += "; ";
    text += FormatEntry(entry);
  }
  return text;
}

}  // namespace

std::string DescribeConfigChange(const ClusterConfig& before, const ClusterConfig& after) {
  std::vector<std::string> keys;
  const auto check = [&](bool differs, const char* key) {
    if (differs) keys.emplace_back(key);
  };
  check(before.api_nodes != after.api_nodes, "api-nodes");
  check(before.worker_nodes != after.worker_nodes, "worker-nodes");
  check(before.slice_length_s != after.slice_length_s, "length-of-time-slice");
  check(before.first_slice_s != after.first_slice_s ||
            before.first_slice_is_system != after.first_slice_is_system,
        "first-slice");
  check(before.routing != after.routing, "routing");
  check(before.timestamp_unit != after.timestamp_unit, "timestamp-unit");
  check(before.cache_ttl_ms != after.cache_ttl_ms, "cache-ttl-ms");
  check(before.reload_interval_s != after.reload_interval_s, "reload-interval-s");
  check(before.max_future_s != after.max_future_s, "max-future-s");
  check(before.max_late_slices != after.max_late_slices, "max-late-slices");

  std::string text = "changed=";
  if (keys.empty()) return text + "none";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) text += ',';
    text += keys[i];
  }
  if (const std::string added = EntriesNotIn(after.routing, before.routing); !added.empty()) {
    text += " routing_added=\"" + added + "\"";
  }
  if (const std::string removed = EntriesNotIn(before.routing, after.routing); !removed.empty()) {
    text += " routing_removed=\"" + removed + "\"";
  }
  return text;
}

}  // namespace rt
