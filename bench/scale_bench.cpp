// How a worker's cost per event changes as its history grows (issue #16, "measure
// first"). Feeds one store hour after hour through KcStore::ApplyBatch, the path
// every batch a worker acknowledges takes, and prints one line per hour:
//
//   scale: hour H markers_ingested M ns_per_event X disk_mib D rss_mib R
//
// M: (slice, user) markers ever inserted, in millions (the sum of the slices'
// unique users, which the store counts exactly); X: wall-clock ns per event of the
// ApplyBatch calls alone (event generation is not timed); D: bytes of the data
// directory's files (allocated blocks); R: this process's VmRSS.
//
// Each hour has U distinct users (fresh keys per hour, as a keyed hash of a new hour
// gives), each with 3 events, shuffled; 95% of events go to the current hour and 5%
// to the hour before, to a user of that hour (the late events every worker sees).
// Batches of 1,000 events on one stream, as the forwarders send them.
//
// Usage: scale_bench --dir DIR [--hours H] [--users-per-hour U] [--seed S]
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/model/batch_codec.h"
#include "server/store/kc_store.h"

namespace rt {
namespace {

constexpr size_t kBatchSize = 1000;
constexpr int kEventsPerUser = 3;
constexpr int64_t kFirstSlice = 500000;

struct Options {
  std::string dir;
  int hours = 200;
  uint64_t users_per_hour = 500000;
  uint64_t seed = 1;
};

// A user key as the API node would make it: 16 bytes that look random, distinct
// per (hour, user index).
UserKey KeyOf(uint64_t hour, uint64_t user, uint64_t seed) {
  auto mix = [](uint64_t x) {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const uint64_t a = mix(seed ^ mix(hour * 0x100000001b3ULL ^ user));
  const uint64_t b = mix(a ^ 0x5851f42d4c957f2dULL);
  UserKey key;
  std::memcpy(key.bytes.data(), &a, 8);
  std::memcpy(key.bytes.data() + 8, &b, 8);
  return key;
}

std::vector<BatchEvent> HourEvents(const Options& options, int hour, std::mt19937_64& rng) {
  const uint64_t users = options.users_per_hour;
  std::vector<uint64_t> order(users * kEventsPerUser);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i / kEventsPerUser;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<BatchEvent> events;
  events.reserve(order.size());
  const int64_t slice = kFirstSlice + hour;
  for (uint64_t user : order) {
    BatchEvent event;
    if (hour > 0 && rng() % 100 < 5) {
      event.slice = slice - 1;
      event.key = KeyOf(static_cast<uint64_t>(hour - 1), rng() % users, options.seed);
    } else {
      event.slice = slice;
      event.key = KeyOf(static_cast<uint64_t>(hour), user, options.seed);
    }
    event.action = rng() % 10 == 0 ? Action::kClick : Action::kImpression;
    events.push_back(event);
  }
  return events;
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (entry.is_regular_file() && ::stat(entry.path().c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

uint64_t RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t MarkersIngested(const KcStore& store) {
  uint64_t markers = 0;
  for (const auto& [slice, stats] : store.AllSlices()) markers += stats.unique_users;
  return markers;
}

int Usage(const char* problem) {
  std::fprintf(stderr, "scale_bench: %s\n", problem);
  std::fprintf(stderr,
               "usage: scale_bench --dir DIR [--hours H] [--users-per-hour U] [--seed S]\n");
  return 2;
}

int Run(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + std::string(arg)).c_str());
    const char* value = argv[++i];
    char* end = nullptr;
    if (arg == "--dir") {
      options.dir = value;
      continue;
    }
    const unsigned long long number = std::strtoull(value, &end, 10);
    if (end == value || *end != '\0' || number == 0) {
      return Usage(("bad number for " + std::string(arg) + ": " + value).c_str());
    }
    if (arg == "--hours") {
      options.hours = static_cast<int>(number);
    } else if (arg == "--users-per-hour") {
      options.users_per_hour = number;
    } else if (arg == "--seed") {
      options.seed = number;
    } else {
      return Usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  if (options.dir.empty()) return Usage("--dir is required");
  // As a worker with the default max-late-slices (24) runs it: slices older than
  // 2 x 24 + 2 are sealed (docs/design.md §7 "Store records"); "now" is the hour being fed.
  int hour = 0;
  KcStoreOptions store_options;
  store_options.current_slice = [&hour] { return kFirstSlice + hour; };
  store_options.seal_after_slices = 50;
  Result<std::unique_ptr<KcStore>> store = KcStore::Open(options.dir, store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "scale_bench: %s\n", store.status().message().c_str());
    return 1;
  }
  std::mt19937_64 rng(options.seed);
  uint64_t seq = 1;
  for (hour = 0; hour < options.hours; ++hour) {
    const std::vector<BatchEvent> events = HourEvents(options, hour, rng);
    const auto start = std::chrono::steady_clock::now();
    for (size_t at = 0; at < events.size(); at += kBatchSize) {
      const size_t count = std::min(kBatchSize, events.size() - at);
      Result<BatchOutcome> outcome = (*store)->ApplyBatch(
          "scale:1", seq, "", std::span<const BatchEvent>(events.data() + at, count));
      if (!outcome.ok() || outcome->refused()) {
        std::fprintf(stderr, "scale_bench: batch at seq %llu failed: %s\n",
                     static_cast<unsigned long long>(seq),
                     outcome.ok() ? "refused" : outcome.status().message().c_str());
        return 1;
      }
      seq += count;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "scale: hour %d markers_ingested %.2f ns_per_event %.0f disk_mib %.0f rss_mib %.0f\n",
        hour + 1, static_cast<double>(MarkersIngested(**store)) / 1e6,
        seconds * 1e9 / static_cast<double>(events.size()),
        static_cast<double>(DiskBytes(options.dir)) / (1 << 20),
        static_cast<double>(RssKib()) / 1024);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace rt

int main(int argc, char** argv) { return rt::Run(argc, argv); }
