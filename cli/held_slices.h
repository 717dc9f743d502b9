#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.h"
#include "server/auth/worker_key.h"

namespace rt::cli {

// What the workers of a config said about the slices they hold, for the
// safe-change floor of validate-config and slice (docs/design.md §5 "Config and the
// safe-change rule").
struct HeldSlices {
  std::vector<std::string> asked;       // ids of the workers that answered, in id order
  std::optional<int64_t> held_through;  // the greatest slice any of them holds; none: empty
  // One line per worker that could not be asked: "could not ask worker 1
  // (http://…): reason; slices it holds are not protected by this check".
  std::vector<std::string> warnings;
};

// GET /worker/slices, signed with `key`, from every worker of `config`, one after
// the other, each with `timeout` (connect and answer). Never fails: a worker that
// cannot be asked (or refuses the key) is a warning, since the check then protects
// less, not wrongly more.
HeldSlices AskWorkersHeldSlices(const ClusterConfig& config, std::chrono::milliseconds timeout,
                                const WorkerKey& key);

// The line for a command that must ask the workers but has no worker key (exit 2).
std::string NoWorkerKeyLine(const std::string& command);

}  // namespace rt::cli
