// Batch apply throughput: KcStore::ApplyBatch against a raw Kyoto loop doing the
// same writes (a marker add per event, a counter record per touched slice, one
// transaction per batch). Both start from an empty database with the same tuning
// and apply the same pre-generated events, so the difference is the store's own
// work (seq bookkeeping, the mark record, the in-memory stats).
//
// BM_StoreApplySteady measures a worker that already holds data: it first
// applies kPrefillEvents (untimed), then times batches of the size the argument
// gives (the load benchmark's batches average ~130 events).
//
// BM_StoreWriteGroupFsync is the same steady store opened with --fsync, written as
// the worker's writer does it: groups of kGroupBatches batches through
// KcStore::WriteGroup (plan, log with one fdatasync, write). On a tmpfs
// (RT_BENCH_DIR=/dev/shm) the fdatasync is nearly free, so the difference to
// BM_StoreApplySteady is what planning and logging cost per event.
#include <benchmark/benchmark.h>
#include <kchashdb.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "server/model/batch_codec.h"
#include "server/store/kc_store.h"

namespace rt {
namespace {

constexpr int kBatchSize = 1000;
constexpr int kUsers = 200000;
constexpr int kBatches = 300;  // 300,000 events per run
constexpr int64_t kCurrentSlice = 500000;
// The steady-state run: a worker's half of the load benchmark's million users.
constexpr int kSteadyUsers = 500000;
constexpr size_t kPrefillEvents = 1500000;
constexpr size_t kSteadyEvents = 1000000;

// Events as the API nodes send them: 95% the current hour, 5% one of the ten
// before; users uniform over the pool; one click per ten impressions.
std::vector<BatchEvent> Events(size_t count, int users, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<UserKey> pool(static_cast<size_t>(users));
  for (UserKey& key : pool) {
    for (auto& byte : key.bytes) byte = static_cast<uint8_t>(rng());
  }
  std::vector<BatchEvent> events;
  events.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    int64_t slice = rng() % 100 < 95 ? kCurrentSlice : kCurrentSlice - 1 - rng() % 10;
    events.push_back({slice, pool[rng() % static_cast<uint64_t>(users)],
                      rng() % 10 == 0 ? Action::kClick : Action::kImpression});
  }
  return events;
}

const std::vector<std::vector<BatchEvent>>& Batches() {
  static const std::vector<std::vector<BatchEvent>> batches = [] {
    const std::vector<BatchEvent> events = Events(size_t{kBatches} * kBatchSize, kUsers, 42);
    std::vector<std::vector<BatchEvent>> out(kBatches);
    for (size_t b = 0; b < out.size(); ++b) {
      out[b].assign(events.begin() + static_cast<ptrdiff_t>(b * kBatchSize),
                    events.begin() + static_cast<ptrdiff_t>((b + 1) * kBatchSize));
    }
    return out;
  }();
  return batches;
}

// A fresh directory per run, under $RT_BENCH_DIR (default: the system temp dir).
std::string FreshDir() {
  const char* base = getenv("RT_BENCH_DIR");
  std::string pattern =
      (base != nullptr ? std::string(base) : std::filesystem::temp_directory_path().string()) +
      "/rt-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) abort();
  return pattern;
}

void BM_StoreApplyBatch(benchmark::State& state) {
  const auto& batches = Batches();
  const std::string dir = FreshDir();
  {
    auto store = KcStore::Open(dir);
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      return;
    }
    uint64_t seq = 1;
    size_t next = 0;
    for (auto _ : state) {
      auto outcome = (*store)->ApplyBatch("api0:1", seq, "0123abcd", batches[next]);
      if (!outcome.ok()) {
        state.SkipWithError(outcome.status().message().c_str());
        break;
      }
      seq += kBatchSize;
      next = (next + 1) % batches.size();
    }
    state.counters["unique_users"] =
        static_cast<double>((*store)->StatsFor(kCurrentSlice).unique_users);
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
  std::filesystem::remove_all(dir);
}

void BM_RawKyotoLoop(benchmark::State& state) {
  namespace kc = kyotocabinet;
  const auto& batches = Batches();
  const std::string dir = FreshDir();
  {
    const KcStoreOptions tuning;  // same tuning as the store
    kc::HashDB db;
    db.tune_buckets(tuning.buckets);
    db.tune_map(tuning.map_bytes);
    db.tune_options(kc::HashDB::TLINEAR);
    if (!db.open(dir + "/raw.kch", kc::HashDB::OWRITER | kc::HashDB::OCREATE)) {
      state.SkipWithError("open failed");
      return;
    }
    struct Counter {
      int64_t slice;
      uint64_t values[3];
    };
    std::vector<Counter> counters;
    size_t next = 0;
    for (auto _ : state) {
      db.begin_transaction(false);
      std::vector<size_t> touched;
      for (const BatchEvent& event : batches[next]) {
        char marker[25];
        marker[0] = 'u';
        std::memcpy(marker + 1, &event.slice, 8);
        std::memcpy(marker + 9, event.key.bytes.data(), 16);
        size_t c = 0;
        while (c < counters.size() && counters[c].slice != event.slice) ++c;
        if (c == counters.size()) counters.push_back({event.slice, {0, 0, 0}});
        if (db.add(marker, sizeof marker, "", 0)) ++counters[c].values[0];
        ++counters[c].values[event.action == Action::kClick ? 1 : 2];
        bool seen = false;
        for (size_t t : touched) seen |= t == c;
        if (!seen) touched.push_back(c);
      }
      for (size_t c : touched) {
        char key[9];
        key[0] = 's';
        std::memcpy(key + 1, &counters[c].slice, 8);
        db.set(key, sizeof key, reinterpret_cast<const char*>(counters[c].values), 24);
      }
      db.end_transaction(true);
      next = (next + 1) % batches.size();
    }
    db.close();
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
  std::filesystem::remove_all(dir);
}

void BM_StoreApplySteady(benchmark::State& state) {
  static const std::vector<BatchEvent> events =
      Events(kPrefillEvents + kSteadyEvents, kSteadyUsers, 43);
  const size_t batch_size = static_cast<size_t>(state.range(0));
  const std::string dir = FreshDir();
  {
    auto store = KcStore::Open(dir);
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      return;
    }
    const std::span<const BatchEvent> all(events);
    uint64_t seq = 1;
    auto apply = [&](std::span<const BatchEvent> batch) {
      auto outcome = (*store)->ApplyBatch("api0:1", seq, "0123abcd", batch);
      if (!outcome.ok()) {
        state.SkipWithError(outcome.status().message().c_str());
        return false;
      }
      seq += batch.size();
      return true;
    };
    for (size_t at = 0; at < kPrefillEvents; at += 1000) {
      if (!apply(all.subspan(at, 1000))) return;
    }
    size_t at = kPrefillEvents;
    for (auto _ : state) {
      if (at + batch_size > all.size()) {
        state.SkipWithError("ran out of events");
        break;
      }
      if (!apply(all.subspan(at, batch_size))) break;
      at += batch_size;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
  std::filesystem::remove_all(dir);
}

constexpr size_t kGroupBatches = 8;

void BM_StoreWriteGroupFsync(benchmark::State& state) {
  static const std::vector<BatchEvent> events =
      Events(kPrefillEvents + kSteadyEvents, kSteadyUsers, 43);
  const size_t batch_size = static_cast<size_t>(state.range(0));
  const std::string dir = FreshDir();
  {
    KcStoreOptions options;
    options.fsync = true;
    auto store = KcStore::Open(dir, options);
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      return;
    }
    std::vector<BatchRequest> batches(kGroupBatches);
    std::vector<KcStore::GroupWrite> writes(kGroupBatches);
    uint64_t seq = 1;
    size_t at = 0;
    // One group of kGroupBatches batches of `size` events from `at` on (the copies
    // are timed too: some 25 bytes an event, noise beside the store's microsecond).
    auto write_group = [&](size_t size) {
      for (size_t b = 0; b < kGroupBatches; ++b) {
        batches[b] = {"api0:1", seq, "0123abcd",
                      std::vector<BatchEvent>(events.begin() + static_cast<ptrdiff_t>(at),
                                              events.begin() + static_cast<ptrdiff_t>(at + size))};
        writes[b] = {};
        writes[b].batch = &batches[b];
        seq += size;
        at += size;
      }
      if (Status s = (*store)->WriteGroup(writes); !s.ok()) {
        state.SkipWithError(s.message().c_str());
        return false;
      }
      for (const KcStore::GroupWrite& write : writes) {
        if (!write.outcome.ok()) {
          state.SkipWithError(write.outcome.status().message().c_str());
          return false;
        }
      }
      return true;
    };
    while (at + 1000 * kGroupBatches <= kPrefillEvents) {
      if (!write_group(1000)) return;
    }
    at = kPrefillEvents;
    for (auto _ : state) {
      if (at + batch_size * kGroupBatches > events.size()) {
        state.SkipWithError("ran out of events");
        break;
      }
      if (!write_group(batch_size)) break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size * kGroupBatches));
  std::filesystem::remove_all(dir);
}

// A fixed number of batches for both, so they fill their databases equally.
BENCHMARK(BM_RawKyotoLoop)->Iterations(kBatches)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StoreApplyBatch)->Iterations(kBatches)->UseRealTime()->Unit(benchmark::kMillisecond);
// 500,000 events timed for either batch size.
BENCHMARK(BM_StoreApplySteady)
    ->Arg(130)
    ->Iterations(500000 / 130)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StoreApplySteady)
    ->Arg(1000)
    ->Iterations(500)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The same 500,000 events, in groups of 8 batches.
BENCHMARK(BM_StoreWriteGroupFsync)
    ->Arg(130)
    ->Iterations(500000 / 130 / kGroupBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StoreWriteGroupFsync)
    ->Arg(1000)
    ->Iterations(500 / kGroupBatches)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rt

BENCHMARK_MAIN();
