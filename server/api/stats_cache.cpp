#include "server/api/stats_cache.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <iterator>
#include <utility>

#include "server/api/member_choice.h"

namespace rt {

StatsCache::StatsCache(std::chrono::milliseconds ttl, TimeSource now)
    : ttl_ms_(ttl.count()), now_(std::move(now)) {}

std::chrono::steady_clock::time_point StatsCache::Now() const {
  return now_ ? now_() : std::chrono::steady_clock::now();
}

const StatsCache::WorkerEntry* StatsCache::FindFresh(
    const Shard& shard, int64_t slice, const std::string& worker,
    std::chrono::steady_clock::time_point now) const {
  const auto it = shard.slices.find(slice);
  if (it == shard.slices.end()) return nullptr;
  const std::chrono::milliseconds ttl(ttl_ms_.load(std::memory_order_relaxed));
  for (const WorkerEntry& e : it->second) {
    if (e.worker == worker) return now - e.learnt < ttl ? &e : nullptr;
  }
  return nullptr;
}

std::optional<SliceStats> StatsCache::Get(const std::string& worker, int64_t slice) const {
  const auto now = Now();
  Shard& shard = ShardOf(slice);
  {
    std::lock_guard lock(shard.mutex);
    if (const WorkerEntry* e = FindFresh(shard, slice, worker, now)) {
      shard.hits.fetch_add(1, std::memory_order_relaxed);
      return e->stats;
    }
  }
  shard.misses.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::pair<const StatsCache::WorkerEntry*, size_t> StatsCache::ChooseFresh(
    const Shard& shard, int64_t slice, const ReplicaSet& set,
    std::chrono::steady_clock::time_point now) const {
  if (set.size() == 1) return {FindFresh(shard, slice, set.front(), now), 0};
  // A handful of members: no allocation for sets of up to four.
  boost::container::small_vector<const WorkerEntry*, 4> entries;
  boost::container::small_vector<size_t, 4> members;
  boost::container::small_vector<MemberAnswer, 4> answers;
  for (size_t m = 0; m < set.size(); ++m) {
    if (const WorkerEntry* e = FindFresh(shard, slice, set[m], now)) {
      entries.push_back(e);
      members.push_back(m);
      answers.push_back({&e->stats, &e->marks});
    }
  }
  if (entries.empty()) return {nullptr, 0};
  const size_t chosen = ChooseMember(answers);
  return {entries[chosen], members[chosen]};
}

std::optional<StatsCache::Part> StatsCache::GetPart(int64_t slice, const ReplicaSet& set) const {
  const auto now = Now();
  Shard& shard = ShardOf(slice);
  {
    std::lock_guard lock(shard.mutex);
    if (const auto [e, member] = ChooseFresh(shard, slice, set, now); e != nullptr) {
      shard.hits.fetch_add(1, std::memory_order_relaxed);
      return Part{member, e->stats};
    }
  }
  shard.misses.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::optional<SliceStats> StatsCache::GetSum(int64_t slice,
                                             const std::vector<ReplicaSet>& sets) const {
  const auto now = Now();
  Shard& shard = ShardOf(slice);
  SliceStats sum;
  {
    std::lock_guard lock(shard.mutex);
    bool all = !sets.empty();
    for (const ReplicaSet& set : sets) {
      const WorkerEntry* e = ChooseFresh(shard, slice, set, now).first;
      if (e == nullptr) {
        all = false;
        break;
      }
      sum += e->stats;
    }
    if (all) {
      shard.hits.fetch_add(1, std::memory_order_relaxed);
      return sum;
    }
  }
  shard.misses.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

void StatsCache::Put(const std::string& worker, int64_t slice, const SliceStats& stats,
                     const ReplicaMarks* marks) {
  PutWith(worker, slice, stats, [marks](ReplicaMarks& held) {
    if (marks != nullptr) held = *marks;
  });
}

void StatsCache::PutAcked(const std::string& worker, int64_t slice, const SliceStats& stats,
                          std::string_view stream, uint64_t acked_seq) {
  PutWith(worker, slice, stats,
          [stream, acked_seq](ReplicaMarks& held) { held.Raise(stream, acked_seq); });
}

template <typename UpdateMarks>
void StatsCache::PutWith(const std::string& worker, int64_t slice, const SliceStats& stats,
                         UpdateMarks update_marks) {
  const auto now = Now();
  MaybeSweep(now);
  Shard& shard = ShardOf(slice);
  std::lock_guard lock(shard.mutex);
  SliceEntries& entries = shard.slices[slice];
  for (WorkerEntry& e : entries) {
    if (e.worker == worker) {
      // A worker's counts only grow, and every event adds one click or impression, so
      // fewer events is an older answer: a fetch sent before a batch's ack and answered
      // after it. While the newer entry is fresh it stays, so that reads through this
      // node never go backwards. (Past its TTL anything replaces it: a worker that lost
      // its data is believed within a TTL.)
      const std::chrono::milliseconds ttl(ttl_ms_.load(std::memory_order_relaxed));
      if (now - e.learnt < ttl &&
          stats.clicks + stats.impressions < e.stats.clicks + e.stats.impressions) {
        return;
      }
      e.stats = stats;
      e.learnt = now;
      update_marks(e.marks);
      return;
    }
  }
  entries.push_back(WorkerEntry{worker, stats, now, {}});
  update_marks(entries.back().marks);
  ++shard.entries;
}

void StatsCache::MaybeSweep(std::chrono::steady_clock::time_point now) {
  const std::chrono::milliseconds ttl(ttl_ms_.load(std::memory_order_relaxed));
  auto due = next_sweep_.load(std::memory_order_relaxed);
  if (now.time_since_epoch().count() < due) return;
  // At least a millisecond apart, so that a zero TTL does not sweep on every Put.
  const auto next = now + std::max(ttl, std::chrono::milliseconds(1));
  if (!next_sweep_.compare_exchange_strong(due, next.time_since_epoch().count())) return;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.slices.begin(); it != shard.slices.end();) {
      SliceEntries& entries = it->second;
      const size_t before = entries.size();
      std::erase_if(entries, [&](const WorkerEntry& e) { return now - e.learnt >= ttl; });
      shard.entries -= before - entries.size();
      it = entries.empty() ? shard.slices.erase(it) : std::next(it);
    }
  }
}

size_t StatsCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries;
  }
  return n;
}

void StatsCache::SetTtl(std::chrono::milliseconds ttl) {
  ttl_ms_.store(ttl.count(), std::memory_order_relaxed);
}

uint64_t StatsCache::hits() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.hits.load(std::memory_order_relaxed);
  return n;
}

uint64_t StatsCache::misses() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.misses.load(std::memory_order_relaxed);
  return n;
}

}  // namespace rt
