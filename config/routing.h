#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.h"

namespace rt {

// The ordered replica sets that own slice `slice`: those of the routing entry with
// the greatest `slice` ≤ `slice`. nullptr when no entry applies (a negative slice, or
// a slice before the first routing entry — a config may start routing after slice 0;
// such slices have no workers, and the API node rejects their events). The pointer
// is into `config.routing` and lives as long as `config`.
const std::vector<ReplicaSet>* SetsForSlice(const ClusterConfig& config, int64_t slice);

// The set of a routing hash among a slice's sets: sets[hash % sets.size()] — the
// rule that picked a single worker before sets existed, so a config of sets of one
// routes every user exactly as it always did. REQUIRES: !sets.empty().
const ReplicaSet& SetForHash(const std::vector<ReplicaSet>& sets, uint64_t routing_hash);

// The routing table as ranges of slices, for printing: [first, last] (last is
// nullopt for the open-ended final range) with their sets. Slices before the first
// entry are left out.
struct RoutingRange {
  int64_t first = 0;
  std::optional<int64_t> last;
  std::vector<ReplicaSet> nodes;
};
std::vector<RoutingRange> RoutingRanges(const ClusterConfig& config);

// "[0, 1+2, 3]" — sets by SetKey, for messages and summaries ("none" for nullptr);
// a routing of sets of one reads as the plain id list it always did.
std::string JoinNodes(const std::vector<ReplicaSet>* nodes);

}  // namespace rt
