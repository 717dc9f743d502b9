#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.h"

namespace rt {

// The ordered worker ids that own slice `slice`: those of the routing entry with the
// greatest `slice` ≤ `slice`. nullptr when no entry applies (a negative slice, or a
// slice before the first routing entry — a config may start routing after slice 0;
// such slices have no workers, and the API node rejects their events). The pointer
// is into `config.routing` and lives as long as `config`.
const std::vector<std::string>* NodesForSlice(const ClusterConfig& config, int64_t slice);

// The worker of a routing hash among a slice's nodes: nodes[hash % nodes.size()].
// REQUIRES: !nodes.empty().
const std::string& WorkerForHash(const std::vector<std::string>& nodes, uint64_t routing_hash);

// The routing table as ranges of slices, for printing: [first, last] (last is
// nullopt for the open-ended final range) with their node list. Slices before the
// first entry are left out.
struct RoutingRange {
  int64_t first = 0;
  std::optional<int64_t> last;
  std::vector<std::string> nodes;
};
std::vector<RoutingRange> RoutingRanges(const ClusterConfig& config);

// "[0, 1, 2]" — a node list for messages and summaries ("none" for nullptr).
std::string JoinNodes(const std::vector<std::string>* nodes);

}  // namespace rt
