#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/cluster_config.h"
#include "server/api/stats_cache.h"
#include "server/api/worker_read_clients.h"
#include "server/auth/request_signature.h"
#include "server/model/replica_marks.h"
#include "server/model/slice_stats.h"

namespace rt {

// One worker's part of a slice.
struct WorkerStats {
  std::string worker;  // id
  std::string url;
  SliceStats stats;
};

// Answers the read endpoints from the workers: a slice's per-worker stats (from the
// cache where fresh, the rest fetched concurrently) and the merged list of every
// slice. A worker that does not answer within the timeout fails the whole read with
// kUnavailable naming it: a partial sum would be a wrong number, not a smaller one.
// Callbacks run on an I/O thread, or inline when everything came from the cache.
// Every request is signed with `signer` (docs/design.md §3), if not null.
// Thread-safe.
class SliceFetcher {
 public:
  using StatsDone = std::function<void(Status, std::vector<WorkerStats>)>;
  using AllSlicesDone = std::function<void(Status, std::map<int64_t, SliceStats>)>;

  // How long a replica set's read waits for its other members once one has answered
  // (docs/design.md §14 "Replica sets", Read path): long enough for a healthy member on
  // loopback or a LAN, far below the read timeout a blackholed one would cost.
  static constexpr std::chrono::milliseconds kMemberGrace{50};

  SliceFetcher(WorkerReadClients& clients, StatsCache& cache, std::chrono::milliseconds timeout,
               std::shared_ptr<const RequestSigner> signer = nullptr);

  // The stats of `slice` on each set of its routing, in routing order, `worker` naming
  // the member each came from. A set of one is its worker's answer; a larger set's is
  // one member's, chosen by ChooseMember among the members that answer (all are asked
  // with their marks, docs/design.md §14 "Replica sets", Read path): the read fails
  // only when some set has no member that answers (a stale member does not).
  // REQUIRES: `sets` is the slice's non-empty routing from `config`, no set empty.
  void FetchSlice(const ClusterConfig& config, int64_t slice, const std::vector<ReplicaSet>& sets,
                  bool use_cache, StatsDone done);

  // The slice's total from the cache alone, if every set's part is fresh: the
  // cached GET's whole cost, one lock and a few additions.
  std::optional<SliceStats> CachedTotal(int64_t slice, const std::vector<ReplicaSet>& sets) const {
    return cache_.GetSum(slice, sets);
  }

  // Every slice held by any configured worker: per slice, each set of its routing
  // counted once, from the member ChooseMember picks (marks of the set's streams), and
  // a worker outside the slice's routing as it answers. Fails when a set of some
  // routing entry has no member that answers: its share of any slice is unknown.
  void FetchAllSlices(const ClusterConfig& config, AllSlicesDone done);

 private:
  // One member's answer for a slice: stats, and the marks of the set's streams.
  using MemberDone = std::function<void(Status, SliceStats, ReplicaMarks)>;
  using SetDone = std::function<void(Status, size_t member, SliceStats)>;

  // GET `target` from worker `id`; `done` gets a 200's response or an error naming it.
  void Get(const std::string& id, const std::string& url, const std::string& target,
           std::function<void(Status, http::Response)> done);
  void FetchMember(const std::string& id, const std::string& url, const std::string& target,
                   MemberDone done);
  // Asks every member of `set` and answers from the one ChooseMember picks among
  // those that answered: when all have, or kMemberGrace after the first good answer,
  // whichever comes first (a hung member does not hold the read up to the timeout).
  void FetchSet(const ClusterConfig& config, int64_t slice, const ReplicaSet& set, SetDone done);

  WorkerReadClients& clients_;
  StatsCache& cache_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<const RequestSigner> signer_;

  http::Request MakeGet(std::string target) const;
};

// The JSON of GET /worker/slices as slice → stats.
[[nodiscard]] Result<std::map<int64_t, SliceStats>> ParseWorkerSlices(std::string_view json);

// GET /worker/slices?marks=1 parsed: its slices, every stream's mark (ascending) and
// the slice below which everything is sealed.
struct WorkerSlices {
  std::map<int64_t, SliceStats> slices;
  std::vector<std::pair<std::string, uint64_t>> marks;
  int64_t sealed_before = 0;
};
[[nodiscard]] Result<WorkerSlices> ParseWorkerSlicesWithMarks(std::string_view json);

// GET /analytics/allslices from the workers' answers (FetchAllSlices; `errors` by
// worker id for those that did not answer).
[[nodiscard]] Result<std::map<int64_t, SliceStats>> MergeWorkerSlices(
    const ClusterConfig& config, const std::map<std::string, WorkerSlices>& answers,
    const std::map<std::string, std::string>& errors);

}  // namespace rt
