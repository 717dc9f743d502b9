#include "sim/fault_check.h"

#include <map>
#include <optional>
#include <set>
#include <thread>

#include "config/replica_set.h"
#include "server/model/slice_stats.h"
#include "sim/in_process_cluster.h"
#include "sim/oracle.h"
#include "sim/sync_client.h"

namespace rt {
namespace {

using SliceMap = std::map<int64_t, SliceStats>;

constexpr std::chrono::milliseconds kPollInterval{50};
constexpr std::chrono::milliseconds kReadTimeout{20'000};

// A store's slices without the empty ones (a slice may exist with nothing in it).
std::optional<SliceMap> HeldSlices(const InProcessCluster& cluster, const std::string& id,
                                   std::string& problem) {
  const auto slices = cluster.WorkerSlices(id);
  if (!slices.ok()) {
    problem = slices.status().message();
    return std::nullopt;
  }
  SliceMap held;
  for (const auto& [slice, stats] : *slices) {
    if (stats != SliceStats{}) held[slice] = stats;
  }
  return held;
}

std::string DescribeFirst(const std::vector<SliceMismatch>& mismatches) {
  std::string out = mismatches.front().Describe();
  if (mismatches.size() > 1) out += " (and " + std::to_string(mismatches.size() - 1) + " more)";
  return out;
}

// The members' part of the check once: nullopt when it holds; `known` gets every
// slice a store holds.
std::optional<std::string> MembersProblem(const InProcessCluster& cluster, const Oracle& oracle,
                                          std::set<int64_t>& known) {
  SliceMap total;
  for (const ReplicaSet& set : ReplicaSetsOf(cluster.config())) {
    std::optional<SliceMap> first;
    for (const std::string& member : set) {
      std::string problem;
      const std::optional<SliceMap> held = HeldSlices(cluster, member, problem);
      if (!held) return problem;
      if (!first) {
        first = held;
      } else if (*held != *first) {
        return "worker " + member + " differs from worker " + set.front() + " of its replica set";
      }
    }
    for (const auto& [slice, stats] : *first) {
      known.insert(slice);
      total[slice] += stats;
    }
  }
  const std::vector<SliceMismatch> mismatches = oracle.Compare(total);
  if (mismatches.empty()) return std::nullopt;
  return "the workers' stores: " + DescribeFirst(mismatches);
}

std::vector<std::string> ReadsProblems(const InProcessCluster& cluster, const Oracle& oracle,
                                       const std::set<int64_t>& slices, int64_t first_slice_s,
                                       int64_t slice_s) {
  std::vector<std::string> problems;
  const std::vector<std::pair<std::string, std::string>> no_cache = {{"Cache-Control", "no-cache"}};
  const std::vector<uint16_t> ports = cluster.ApiPorts();
  for (size_t node = 0; node < ports.size(); ++node) {
    SyncHttpClient client(ports[node], kReadTimeout);
    SliceMap answers;
    for (int64_t slice : slices) {
      const std::string target =
          "/analytics?timestamp=" + std::to_string((first_slice_s + slice * slice_s) * 1000);
      const auto answer = client.Get(target, no_cache);
      const std::string where = "API node port " + std::to_string(ports[node]) + ": GET " + target;
      if (!answer.ok()) {
        problems.push_back(where + ": " + answer.status().message());
        return problems;
      }
      if (answer->result_int() != 200) {
        problems.push_back(where + ": " + std::to_string(answer->result_int()) + " " +
                           answer->body().substr(0, answer->body().find('\n')));
        return problems;
      }
      const Result<SliceStats> stats = ParseSliceStats(answer->body());
      if (!stats.ok()) {
        problems.push_back(where + ": " + stats.status().message());
        return problems;
      }
      answers[slice] = *stats;
    }
    if (const auto mismatches = oracle.Compare(answers); !mismatches.empty()) {
      problems.push_back("reads through API node port " + std::to_string(ports[node]) + ": " +
                         DescribeFirst(mismatches));
    }
  }
  return problems;
}

}  // namespace

std::vector<std::string> CheckAfterFault(const InProcessCluster& cluster, const Oracle& oracle,
                                         int64_t first_slice_s, int64_t slice_s,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::set<int64_t> slices;
  std::optional<std::string> problem;
  while (true) {
    slices.clear();
    problem = MembersProblem(cluster, oracle, slices);
    if (!problem || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (problem) {
    return {*problem + " (still, " + std::to_string(timeout.count() / 1000) +
            " s after the fault's hour ended)"};
  }
  for (const auto& entry : oracle.AllSlices()) slices.insert(entry.first);
  return ReadsProblems(cluster, oracle, slices, first_slice_s, slice_s);
}

}  // namespace rt
