#pragma once

#include <string>

#include "config/cluster_config.h"

namespace rt {

// What an applied reload changed, for the API node's one log line, in key=value form
// (logfmt: a value with spaces is quoted) so that a machine can parse it:
//
//   changed=routing,worker-nodes routing_added="slice 5 [0,1,2]" routing_removed="..."
//
// `changed` lists the top-level config keys (as spelled in the file) whose values
// differ, in file order; routing_added / routing_removed the routing entries (slice
// and node list) only in `after` / only in `before`, `; `-separated, each omitted
// when empty. "changed=none" when the configs are equal. Pure; any thread.
std::string DescribeConfigChange(const ClusterConfig& before, const ClusterConfig& after);

}  // namespace rt
