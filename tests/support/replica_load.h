#pragma once

// Load and checks for replica-set tests with real processes (docs/design.md §14
// "Replica sets"): a counted client, readers that check every answer against what was
// promised, and exactness checks of every member. Shared by tests/integration and
// tests/chaos.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/model/slice_stats.h"
#include "tests/support/local_cluster.h"
#include "tests/support/temp_dir.h"

namespace rt::testing {

// 4 workers as [[0,1],[2,3]].
inline constexpr const char* kTwoSetsOfTwo = R"([{"slice": 0, "nodes": [["0", "1"], ["2", "3"]]}])";

// What the client was promised (202s by action; each event its own user, so unique
// users equal events exactly when nothing was applied twice) and what it was refused.
struct Promised {
  std::atomic<uint64_t> clicks{0};
  std::atomic<uint64_t> impressions{0};
  std::atomic<uint64_t> refused{0};  // 503s
  std::atomic<uint64_t> failed{0};   // anything else (no answer, another status)
  uint64_t accepted() const { return clicks + impressions; }
};

// POSTs users u<first>..u<first + count - 1>, one at a time; no assertions, so that
// it may run on a thread of its own.
void Send(uint16_t port, int64_t ts, uint64_t first, uint64_t count, Promised& promised);
// One POST of user u<user>; true when it was answered (202 or 503, counted).
bool SendOne(uint16_t port, int64_t ts, uint64_t user, Promised& promised);

// A worker's own numbers for `slice` (a signed GET), if it answers 200.
std::optional<SliceStats> MemberStats(uint16_t port, int64_t slice);
// The API nodes on `api_ports` have sent every event of sets 0+1 and 2+3 to every
// member (waits up to 30 s).
bool SpoolsDrain(const std::vector<uint16_t>& api_ports);
// GET /analytics of `ts` through the API node on `port`; `fresh` skips its cache.
std::optional<SliceStats> ApiStats(uint16_t port, int64_t ts, bool fresh, int* status = nullptr);
// A fresh read through `port` equals exactly what was promised.
bool ApiExact(uint16_t port, int64_t ts, const Promised& promised);

// Reads while a load runs: every read must be a 200 and never above the truth. The
// truth at a read's answer is at most what was promised just after it plus the POSTs
// in flight (one per sending thread).
struct ReadChecker {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> not_200{0};
  std::atomic<uint64_t> not_503{0};  // of not_200: no answer, or a status other than 503
  std::atomic<uint64_t> above_truth{0};

  // Reads through `ports` in turn (at most 20000 reads, until `stop`).
  void Run(const std::vector<uint16_t>& ports, int64_t ts, const Promised& promised,
           uint64_t senders);
  // One read through `port`, checked.
  void ReadOnce(uint16_t port, int64_t ts, bool fresh, const Promised& promised, uint64_t senders);
};

// Each member of each set holds exactly its set's share, the members of a set the
// same numbers, and the two sets together exactly what the client was promised.
void CheckEveryMemberExact(LocalCluster& cluster, int64_t slice, const Promised& promised);

// 4 workers as [[0,1],[2,3]] and an API node with its spool in `spool`/spool0 (tests
// add a second with AddApi).
LocalCluster::Options TwoSetsOfTwo(const TempDir& spool);

}  // namespace rt::testing
