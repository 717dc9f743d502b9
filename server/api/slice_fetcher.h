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

  SliceFetcher(WorkerReadClients& clients, StatsCache& cache, std::chrono::milliseconds timeout,
               std::shared_ptr<const RequestSigner> signer = nullptr);

  // The stats of `slice` on each set of its routing, in routing order: a set's part is
  // its first member's (sets of one until the read path chooses among members by
  // their marks, docs/design.md §14; ApiNode refuses larger sets meanwhile).
  // REQUIRES: `sets` is the slice's non-empty routing from `config`, no set empty.
  void FetchSlice(const ClusterConfig& config, int64_t slice, const std::vector<ReplicaSet>& sets,
                  bool use_cache, StatsDone done);

  // The slice's total from the cache alone, if every set's part is fresh: the
  // cached GET's whole cost, one lock and a few additions.
  std::optional<SliceStats> CachedTotal(int64_t slice, const std::vector<ReplicaSet>& sets) const {
    return cache_.GetSum(slice, sets);
  }

  // Every slice held by any configured worker, summed over the workers.
  void FetchAllSlices(const ClusterConfig& config, AllSlicesDone done);

 private:
  WorkerReadClients& clients_;
  StatsCache& cache_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<const RequestSigner> signer_;

  http::Request MakeGet(std::string target) const;
};

// The JSON of GET /worker/slices as slice → stats.
[[nodiscard]] Result<std::map<int64_t, SliceStats>> ParseWorkerSlices(std::string_view json);

}  // namespace rt
