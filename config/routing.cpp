#include "config/routing.h"

#include <algorithm>

#include "config/replica_set.h"

namespace rt {

const std::vector<ReplicaSet>* SetsForSlice(const ClusterConfig& config, int64_t slice) {
  const auto after =
      std::upper_bound(config.routing.begin(), config.routing.end(), slice,
                       [](int64_t s, const RoutingEntry& entry) { return s < entry.slice; });
  if (after == config.routing.begin()) return nullptr;
  return &std::prev(after)->nodes;
}

const ReplicaSet& SetForHash(const std::vector<ReplicaSet>& sets, uint64_t routing_hash) {
  return sets[routing_hash % sets.size()];
}

std::vector<RoutingRange> RoutingRanges(const ClusterConfig& config) {
  std::vector<RoutingRange> ranges;
  for (size_t i = 0; i < config.routing.size(); ++i) {
    RoutingRange range{config.routing[i].slice, std::nullopt, config.routing[i].nodes};
    if (i + 1 < config.routing.size()) range.last = config.routing[i + 1].slice - 1;
    ranges.push_back(std::move(range));
  }
  return ranges;
}

std::string JoinNodes(const std::vector<ReplicaSet>* nodes) {
  if (nodes == nullptr) return "none";
  std::string out = "[";
  for (const ReplicaSet& set : *nodes) {
    if (out.size() > 1) out += ", ";
    out += SetKey(set);
  }
  return out + "]";
}

}  // namespace rt
