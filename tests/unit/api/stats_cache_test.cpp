#include "server/api/stats_cache.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

namespace rt {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

// A hand-moved steady time for the cache (no sleeps in tests).
struct FakeTime {
  std::atomic<int64_t> ms{1'000'000};
  StatsCache::TimeSource Source() {
    return [this] { return TimePoint(std::chrono::milliseconds(ms.load())); };
  }
};

SliceStats Stats(uint64_t users, uint64_t clicks, uint64_t impressions) {
  return SliceStats{users, clicks, impressions};
}

TEST_CASE("the stats cache returns what was put while younger than the ttl", "[api][cache]") {
  FakeTime time;
  StatsCache cache(1000ms, time.Source());
  CHECK_FALSE(cache.Get("1", 7).has_value());
  cache.Put("1", 7, Stats(3, 2, 1));
  REQUIRE(cache.Get("1", 7).has_value());
  CHECK(*cache.Get("1", 7) == Stats(3, 2, 1));
  CHECK_FALSE(cache.Get("2", 7).has_value());
  CHECK_FALSE(cache.Get("1", 8).has_value());

  time.ms += 999;
  CHECK(cache.Get("1", 7).has_value());
  time.ms += 1;
  CHECK_FALSE(cache.Get("1", 7).has_value());
  CHECK(cache.hits() == 3);
  CHECK(cache.misses() == 4);
}

TEST_CASE("a put refreshes an entry's value and age", "[api][cache]") {
  FakeTime time;
  StatsCache cache(100ms, time.Source());
  cache.Put("1", 7, Stats(1, 1, 0));
  time.ms += 90;
  cache.Put("1", 7, Stats(2, 2, 0));
  time.ms += 90;
  REQUIRE(cache.Get("1", 7).has_value());
  CHECK(*cache.Get("1", 7) == Stats(2, 2, 0));
}

TEST_CASE("an older answer put after a newer one does not move a fresh entry back",
          "[api][cache]") {
  // A fetch sent before a batch's ack and answered after it (issue #19): the cache
  // must not answer 10 events after it answered 12.
  FakeTime time;
  StatsCache cache(100ms, time.Source());
  cache.Put("1", 7, Stats(12, 4, 8));
  time.ms += 10;
  cache.Put("1", 7, Stats(10, 4, 6));
  REQUIRE(cache.Get("1", 7).has_value());
  CHECK(*cache.Get("1", 7) == Stats(12, 4, 8));
  // Its age is the newer answer's: it expires a TTL after that one was learnt.
  time.ms += 90;
  CHECK_FALSE(cache.Get("1", 7).has_value());
  // Once stale, any answer replaces it (a worker that lost its data is believed).
  cache.Put("1", 7, Stats(3, 1, 2));
  REQUIRE(cache.Get("1", 7).has_value());
  CHECK(*cache.Get("1", 7) == Stats(3, 1, 2));
}

TEST_CASE("the stats cache sums a slice only when every worker is fresh", "[api][cache]") {
  FakeTime time;
  StatsCache cache(100ms, time.Source());
  const std::vector<ReplicaSet> workers = {{"1"}, {"2"}};
  cache.Put("1", 5, Stats(1, 2, 3));
  CHECK_FALSE(cache.GetSum(5, workers).has_value());
  cache.Put("2", 5, Stats(10, 20, 30));
  REQUIRE(cache.GetSum(5, workers).has_value());
  CHECK(*cache.GetSum(5, workers) == Stats(11, 22, 33));
  time.ms += 50;
  cache.Put("2", 5, Stats(11, 20, 31));
  time.ms += 60;  // worker 1's entry is now 110 ms old
  CHECK_FALSE(cache.GetSum(5, workers).has_value());
  CHECK(cache.GetSum(5, {{"2"}}).has_value());
  CHECK_FALSE(cache.GetSum(5, {}).has_value());
}

TEST_CASE("changing the ttl applies to entries already cached", "[api][cache]") {
  FakeTime time;
  StatsCache cache(1000ms, time.Source());
  cache.Put("1", 1, Stats(1, 0, 1));
  time.ms += 500;
  CHECK(cache.Get("1", 1).has_value());
  cache.SetTtl(400ms);
  CHECK_FALSE(cache.Get("1", 1).has_value());
  cache.SetTtl(0ms);
  cache.Put("1", 1, Stats(1, 0, 1));
  CHECK_FALSE(cache.Get("1", 1).has_value());
}

TEST_CASE("a put evicts entries past the ttl so a sweep over many slices stays bounded",
          "[api][cache]") {
  FakeTime time;
  StatsCache cache(1000ms, time.Source());
  // A client sweeping 100k distinct timestamps within one TTL, through two workers.
  constexpr int64_t kSlices = 100'000;
  for (int64_t slice = 0; slice < kSlices; ++slice) {
    cache.Put("0", slice, Stats(1, 1, 0));
    cache.Put("1", slice, Stats(1, 0, 1));
  }
  CHECK(cache.size() == 2 * kSlices);
  time.ms += 999;
  cache.Put("0", kSlices, Stats(1, 1, 1));
  CHECK(cache.size() == 2 * kSlices + 1);  // still fresh: nothing to evict
  CHECK(cache.Get("1", kSlices - 1).has_value());

  time.ms += 1;  // every entry but the last one is a TTL old
  cache.Put("0", kSlices + 1, Stats(2, 2, 2));
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.Get("0", 0).has_value());
  CHECK(cache.Get("0", kSlices).has_value());
  CHECK(cache.GetSum(kSlices + 1, {{"0"}}) == Stats(2, 2, 2));
}

TEST_CASE("a busy slice refreshed by puts survives every sweep", "[api][cache]") {
  FakeTime time;
  StatsCache cache(100ms, time.Source());
  for (int round = 0; round < 50; ++round) {
    cache.Put("0", 7, Stats(1, static_cast<uint64_t>(round), 0));
    cache.Put("1", 1000 + round, Stats(1, 0, 0));  // a past slice, read once
    time.ms += 60;
    REQUIRE(cache.Get("0", 7).has_value());
  }
  // Only what was put in the last two TTLs is left.
  CHECK(cache.size() <= 1 + 4);
}

TEST_CASE("the stats cache stays consistent under concurrent puts and gets", "[api][cache]") {
  StatsCache cache(60'000ms);
  constexpr int kThreads = 4;
  constexpr int kRounds = 20'000;
  std::atomic<uint64_t> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string me = std::to_string(t);
      for (int i = 1; i <= kRounds; ++i) {
        const int64_t slice = i % 37;
        const auto n = static_cast<uint64_t>(i);
        cache.Put(me, slice, Stats(n, n, n));
        const auto got = cache.Get(me, slice);
        // Only this thread writes (me, slice): it must read back its own last value.
        if (!got || !(*got == Stats(n, n, n))) torn.fetch_add(1);
        const auto other = cache.Get(std::to_string((t + 1) % kThreads), slice);
        if (other &&
            !(other->clicks == other->unique_users && other->clicks == other->impressions)) {
          torn.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(torn.load() == 0);
  for (int t = 0; t < kThreads; ++t) {
    const auto last = cache.Get(std::to_string(t), kRounds % 37);
    REQUIRE(last.has_value());
    CHECK(last->clicks == kRounds);
  }
}

TEST_CASE("a replica set's cached part is its freshest member's, one member's only",
          "[api][cache][replica]") {
  FakeTime time;
  StatsCache cache(1000ms, time.Source());
  const ReplicaSet set = {"0", "1"};
  CHECK_FALSE(cache.GetPart(7, set).has_value());

  const ReplicaMarks behind{false, {{"a:1@t", 4}, {"b:1@t", 9}}};
  const ReplicaMarks ahead{false, {{"a:1@t", 5}, {"b:1@t", 9}}};
  cache.Put("0", 7, Stats(2, 2, 2), &behind);
  auto part = cache.GetPart(7, set);
  REQUIRE(part.has_value());  // one fresh member is enough
  CHECK(part->member == 0);
  cache.Put("1", 7, Stats(3, 3, 3), &ahead);
  part = cache.GetPart(7, set);
  REQUIRE(part.has_value());
  CHECK(part->member == 1);
  CHECK(part->stats == Stats(3, 3, 3));
  // Never a mix: the set's share in a sum is one member's numbers.
  CHECK(cache.GetSum(7, {set, {"2"}}) == std::nullopt);
  cache.Put("2", 7, Stats(10, 10, 10));
  CHECK(cache.GetSum(7, {set, {"2"}}) == Stats(13, 13, 13));

  // A batch ack raises the acked stream's mark and keeps the others.
  cache.PutAcked("0", 7, Stats(4, 4, 4), "a:1@t", 8);
  part = cache.GetPart(7, set);
  REQUIRE(part.has_value());
  CHECK(part->member == 0);
  CHECK(part->stats == Stats(4, 4, 4));

  // Member 0's entry ages out: member 1 answers alone.
  time.ms += 600;
  cache.Put("1", 7, Stats(5, 5, 5), &ahead);
  time.ms += 500;
  part = cache.GetPart(7, set);
  REQUIRE(part.has_value());
  CHECK(part->member == 1);
  time.ms += 500;
  CHECK_FALSE(cache.GetPart(7, set).has_value());
}

}  // namespace
}  // namespace rt
