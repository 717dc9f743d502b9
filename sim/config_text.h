#pragma once

#include <string>

#include "config/cluster_config.h"

namespace rt {

// A cluster config as the JSON file an operator would write (docs/config.md), so that
// the simulator's configs go through the same parser and validation as real ones
// and can be kept next to the data (--keep-data) for inspection. `first-slice` is
// written as its UTC time.
std::string ClusterConfigToJson(const ClusterConfig& config);

}  // namespace rt
