#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/cluster_config.h"
#include "config/config_problem.h"

namespace rt {

// The semantic checks of docs/config.md on a converted config (the loader adds the
// structural ones: missing keys, wrong types, unknown keys, unparsable first-slice).
// Errors:
//   * api-nodes / worker-nodes empty, an empty id, a URL that is not
//     http://host:port/path (ParseNodeUrl), two nodes with the same listen
//     address host:port (port 0 excepted);
//   * length-of-time-slice ≤ 0, reload-interval-s ≤ 0, cache-ttl-ms, max-future-s
//     or max-late-slices < 0;
//   * routing empty, a negative routing slice, slices not strictly increasing, an
//     empty node list, an empty replica set, a node id not in worker-nodes, a node
//     twice in one entry (twice in one set, or in two sets of the entry).
// Warnings:
//   * first-slice "system" with more than one API node (each node would start its
//     slices at its own start time);
//   * the first routing entry after slice 0 (earlier slices have no workers: their
//     events are rejected);
//   * a URL path other than /analytics (API) or /worker (workers): the nodes serve
//     the fixed paths of docs/http.md whatever the URL says;
//   * port 0 (an ephemeral port that no other node can know);
//   * members of one replica set on the same URL host (one machine loses the set).
// Paths are those of the file (`routing[2].nodes[1]`); lines are left 0.
std::vector<ConfigProblem> ValidateClusterConfig(const ClusterConfig& config);

// The known key closest to a misspelt one (edit distance ≤ 3 and less than half the
// key's length), or "" when none is close: for "did you mean" hints.
std::string SuggestKey(std::string_view key, const std::vector<std::string_view>& known);

}  // namespace rt
