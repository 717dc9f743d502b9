#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "server/model/slice_stats.h"
#include "tests/netfault/client_history.h"

namespace rt::netfault {

// What a scenario did, for judging its history.
struct ScenarioFacts {
  std::string name;
  int64_t fault_start_us = 0;
  int64_t fault_end_us = 0;
  std::set<int> affected_sets;  // their POSTs may be refused; the others' never
  // API nodes whose reads must all be 200 (a member of every set reachable from them).
  std::set<int> reads_must_answer_api;
  SliceStats preload;                    // exactly counted before the fault: no 200 may be below it
  std::vector<SliceStats> final_by_api;  // the no-cache reads after healing
  int reads_not_sent = 0;
};

// The read deadline rt documents (docs/design.md §4) and the margin the checks allow
// on it: a margin for scheduling on a loaded machine, far below what queueing costs
// (issue #19: up to 5.5 deadlines).
constexpr std::chrono::milliseconds kReadDeadline{2000};
constexpr std::chrono::milliseconds kDeadlineMargin{1000};
// A read whose every set has a reachable member waits for an unreachable member at
// most the member grace (SliceFetcher::kMemberGrace, docs/design.md §14), not the
// deadline; the same margin on it.
constexpr std::chrono::milliseconds kMemberGrace{50};

// Checks the promises of docs/failure-modes.md on `records` (every request of the
// scenario) and prints the report. Returns the number of broken promises (each is
// printed with the request that broke it, the first few of a kind).
int CheckPromises(const std::vector<Record>& records, const ScenarioFacts& facts);

}  // namespace rt::netfault
