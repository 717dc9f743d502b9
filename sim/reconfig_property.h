#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace rt {

// The property behind "servers can be added at any time without wrong metrics"
// (docs/design.md §5 "Config and the safe-change rule", §10 "Simulator"): whatever
// sequence of configs is offered, each applied only when the API node's
// safe-change check accepts it, no user of a slice ever ends up on two workers.
//
// One run: an InProcessCluster (one API node, three workers, 10-second slices) on a
// FakeClock; `steps` times: a few events (users from a small pool, timestamps from
// 20 s ago up to the running config's max-future-s ahead, so far-future slices get
// data), the clock moved on by 0..12 s, and a random config offered through
// ApiNode::ReplaceConfig: max-future-s and reload-interval-s up or down, a routing
// entry for a slice from 3 before now to 35 after, with a random subset of the
// workers in a random order. At the end every API node is drained and every worker
// asked for its slices (GET /worker/slices); per slice, the sum of the workers'
// unique users must equal the oracle's exact count (a user on two workers is counted
// twice), and so must clicks and impressions.
struct ReconfigPropertyOptions {
  uint64_t seed = 1;
  int steps = 60;
  int events_per_step = 12;
};

struct ReconfigPropertyReport {
  int offers = 0;
  int accepted = 0;                   // offers the API node applied
  uint64_t events_accepted = 0;       // 202s (recorded in the oracle)
  uint64_t undelivered = 0;           // accepted but not delivered at the end (must be 0)
  std::vector<std::string> failures;  // one line per slice that differs, and anything else
  std::vector<std::string> refusals;  // the first few refusal reasons, for debugging

  bool ok() const { return failures.empty() && undelivered == 0; }
};

// Runs the property once; an error Status only when the run could not take place.
[[nodiscard]] Result<ReconfigPropertyReport> RunReconfigProperty(
    const ReconfigPropertyOptions& options);

}  // namespace rt
