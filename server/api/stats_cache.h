#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/cluster_config.h"
#include "server/model/replica_marks.h"
#include "server/model/slice_stats.h"

namespace rt {

// The API node's cache of worker answers: (worker id, slice) → stats and when they
// were learnt. Filled by GET fetches (every worker of the slice) and by batch acks
// (the slices a batch touched), read by GETs while younger than the TTL
// (`cache-ttl-ms`). Because writes refresh it, a busy slice is answered from memory
// at most a TTL behind.
//
// The cached GET is a hot path: a lookup takes one shard mutex (shards by slice),
// finds the slice without allocating, and scans its few workers; GetSum answers a
// whole slice under that one lock.
//
// Eviction: a client that asks for many distinct timestamps (a sweep over past
// hours) would otherwise grow the cache forever. A Put sweeps every shard for
// entries past the TTL when a TTL has passed since the last sweep (amortised: each
// entry is dropped once; one shard lock at a time), so the cache holds at most the
// entries put within about two TTLs. An entry past its TTL is never answered, so
// evicting it changes no answer.
// Thread-safety: all methods.
class StatsCache {
 public:
  using TimeSource = std::function<std::chrono::steady_clock::time_point()>;

  // `now` defaults to the steady clock; tests pass their own.
  explicit StatsCache(std::chrono::milliseconds ttl, TimeSource now = {});

  // A set's cached part of a slice: the member it is answered from and its stats.
  struct Part {
    size_t member = 0;  // index in the set
    SliceStats stats;
  };

  // The cached stats, if younger than the TTL.
  std::optional<SliceStats> Get(const std::string& worker, int64_t slice) const;
  // The set's part of the slice from the fresh entries of its members: a set of one
  // its worker's, a larger set the member ChooseMember picks among the fresh ones by
  // their marks (docs/design.md §14 "Replica sets", Read path). nullopt (a miss) when
  // no member's entry is fresh.
  std::optional<Part> GetPart(int64_t slice, const ReplicaSet& set) const;
  // The sum over `sets` (a slice's routing) of the slice, if every set's part is
  // cached (one hit); otherwise nullopt (one miss).
  std::optional<SliceStats> GetSum(int64_t slice, const std::vector<ReplicaSet>& sets) const;
  // Stores `stats` as learnt now, unless the entry held is fresh and has more events
  // (clicks + impressions): then `stats` is an older answer and is dropped. `marks`,
  // a replica member's answer, replaces the entry's marks.
  void Put(const std::string& worker, int64_t slice, const SliceStats& stats,
           const ReplicaMarks* marks = nullptr);
  // A batch ack of `stream` up to `acked_seq`: as Put, raising that stream's mark and
  // keeping the others (marks only grow, so they still bound what `stats` include).
  void PutAcked(const std::string& worker, int64_t slice, const SliceStats& stats,
                std::string_view stream, uint64_t acked_seq);
  void SetTtl(std::chrono::milliseconds ttl);

  // (worker, slice) entries held now, fresh or not yet swept.
  size_t size() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct WorkerEntry {
    std::string worker;
    SliceStats stats;
    std::chrono::steady_clock::time_point learnt;
    ReplicaMarks marks;  // empty but for members of larger sets
  };
  // A slice has as many entries as workers in its routing lists (a handful).
  using SliceEntries = std::vector<WorkerEntry>;

  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::unordered_map<int64_t, SliceEntries> slices;
    size_t entries = 0;  // WorkerEntry count over `slices`
    mutable std::atomic<uint64_t> hits{0};
    mutable std::atomic<uint64_t> misses{0};
  };
  static constexpr size_t kShards = 16;

  std::chrono::steady_clock::time_point Now() const;
  Shard& ShardOf(int64_t slice) const { return shards_[static_cast<uint64_t>(slice) % kShards]; }
  // REQUIRES: the shard's mutex held.
  const WorkerEntry* FindFresh(const Shard& shard, int64_t slice, const std::string& worker,
                               std::chrono::steady_clock::time_point now) const;
  // The set's chosen fresh entry and its member index, or {nullptr, 0}. REQUIRES: as above.
  std::pair<const WorkerEntry*, size_t> ChooseFresh(
      const Shard& shard, int64_t slice, const ReplicaSet& set,
      std::chrono::steady_clock::time_point now) const;
  // Put's body; `update_marks` runs on the entry kept. REQUIRES: no shard mutex held.
  template <typename UpdateMarks>
  void PutWith(const std::string& worker, int64_t slice, const SliceStats& stats,
               UpdateMarks update_marks);
  // Drops every entry past the TTL if a sweep is due; one caller sweeps at a time.
  // REQUIRES: no shard mutex held.
  void MaybeSweep(std::chrono::steady_clock::time_point now);

  std::atomic<int64_t> ttl_ms_;
  // steady_clock ticks of the next sweep; Put claims a due sweep by moving it.
  std::atomic<std::chrono::steady_clock::rep> next_sweep_{0};
  TimeSource now_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace rt
