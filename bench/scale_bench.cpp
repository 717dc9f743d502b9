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
// The Kyoto read-ahead (docs/design.md §7) is measured on the same store: batches
// alternate between prefetching and not (KcStore::SetReadAhead), and each line ends
// with `no_read_ahead_ns Y`, the ns per event of the batches without it (X is of the
// batches with it, as a worker runs by default). `--read-ahead on|off` runs every
// batch one way instead (Y is then absent).
//
// `--restart-check` measures a restart after kill -9: the feeding runs in a child
// process, which after the last hour goes on with one more hour's batches until the
// parent kills it with SIGKILL mid-batch; the parent then opens the store as a
// restarting worker does (KcStore::Open, with Kyoto's repair of the files that were
// open) and prints
//
//   restart: after kill -9 markers_ingested M open_s S files_open F records R repair "..."
//
// Usage: scale_bench --dir DIR [--hours H] [--users-per-hour U] [--seed S]
//                    [--read-ahead alternate|on|off] [--restart-check]
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include <thread>
#include <vector>

#include "server/model/batch_codec.h"
#include "server/store/kc_store.h"

namespace rt {
namespace {

constexpr size_t kBatchSize = 1000;
constexpr int kEventsPerUser = 3;
constexpr int64_t kFirstSlice = 500000;

enum class ReadAhead { kAlternate, kOn, kOff };

struct Options {
  std::string dir;
  int hours = 200;
  uint64_t users_per_hour = 500000;
  uint64_t seed = 1;
  ReadAhead read_ahead = ReadAhead::kAlternate;
  bool restart_check = false;
};

// As a worker with the default max-late-slices (24) runs it: slices older than
// 2 x 24 + 2 are sealed (docs/design.md §7 "Store records"); "now" is `*hour`.
KcStoreOptions StoreOptions(const int* hour) {
  KcStoreOptions store_options;
  store_options.current_slice = [hour] { return kFirstSlice + *hour; };
  store_options.seal_after_slices = 50;
  return store_options;
}

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
               "usage: scale_bench --dir DIR [--hours H] [--users-per-hour U] [--seed S] "
               "[--read-ahead alternate|on|off] [--restart-check]\n");
  return 2;
}

// Feeds the store hour after hour and prints a line per hour. With `ready_fd` >= 0
// (--restart-check), then writes a byte to it in the middle of one more hour's
// batches and keeps applying them until killed.
int Feed(const Options& options, int ready_fd) {
  int hour = 0;
  Result<std::unique_ptr<KcStore>> store = KcStore::Open(options.dir, StoreOptions(&hour));
  if (!store.ok()) {
    std::fprintf(stderr, "scale_bench: %s\n", store.status().message().c_str());
    return 1;
  }
  std::mt19937_64 rng(options.seed);
  uint64_t seq = 1;
  const auto apply = [&](const std::vector<BatchEvent>& events, size_t at) -> bool {
    const size_t count = std::min(kBatchSize, events.size() - at);
    Result<BatchOutcome> outcome = (*store)->ApplyBatch(
        "scale:1", seq, "", std::span<const BatchEvent>(events.data() + at, count));
    if (!outcome.ok() || outcome->refused()) {
      std::fprintf(stderr, "scale_bench: batch at seq %llu failed: %s\n",
                   static_cast<unsigned long long>(seq),
                   outcome.ok() ? "refused" : outcome.status().message().c_str());
      return false;
    }
    seq += count;
    return true;
  };
  for (hour = 0; hour < options.hours; ++hour) {
    const std::vector<BatchEvent> events = HourEvents(options, hour, rng);
    // ns and events of the batches with ([1]) and without ([0]) the read-ahead.
    double seconds[2] = {0, 0};
    uint64_t counted[2] = {0, 0};
    for (size_t at = 0, batch = 0; at < events.size(); at += kBatchSize, ++batch) {
      const bool prefetch = options.read_ahead == ReadAhead::kOn ||
                            (options.read_ahead == ReadAhead::kAlternate && batch % 2 == 0);
      (*store)->SetReadAhead(prefetch);
      const auto start = std::chrono::steady_clock::now();
      if (!apply(events, at)) return 1;
      seconds[prefetch] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      counted[prefetch] += std::min(kBatchSize, events.size() - at);
    }
    const int timed = options.read_ahead == ReadAhead::kOff ? 0 : 1;
    std::printf("scale: hour %d markers_ingested %.2f ns_per_event %.0f disk_mib %.0f rss_mib %.0f",
                hour + 1, static_cast<double>(MarkersIngested(**store)) / 1e6,
                seconds[timed] * 1e9 / static_cast<double>(counted[timed]),
                static_cast<double>(DiskBytes(options.dir)) / (1 << 20),
                static_cast<double>(RssKib()) / 1024);
    if (options.read_ahead == ReadAhead::kAlternate) {
      std::printf(" no_read_ahead_ns %.0f", seconds[0] * 1e9 / static_cast<double>(counted[0]));
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  if (ready_fd < 0) return 0;
  (*store)->SetReadAhead(options.read_ahead != ReadAhead::kOff);
  // The next hour's events; once through, again (duplicates then, still a write of
  // counters and marks per batch) until the kill, at most 1000 times.
  const std::vector<BatchEvent> events = HourEvents(options, hour, rng);
  for (int pass = 0; pass < 1000; ++pass) {
    for (size_t at = 0, batch = 0; at < events.size(); at += kBatchSize, ++batch) {
      if (pass == 0 && batch == events.size() / kBatchSize / 2) {
        const char byte = 1;
        if (::write(ready_fd, &byte, 1) != 1) return 1;
      }
      if (!apply(events, at)) return 1;
    }
  }
  std::fprintf(stderr, "scale_bench: the extra hour ended before the kill\n");
  return 1;
}

// Forks the feeder, kills it with SIGKILL in the middle of a batch after the last
// hour, and times the store's open as a restarting worker's.
int RestartCheck(const Options& options) {
  int fds[2];
  if (::pipe(fds) != 0) return Usage("pipe failed");
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) return Usage("fork failed");
  if (child == 0) {
    ::close(fds[0]);
    std::_Exit(Feed(options, fds[1]));
  }
  ::close(fds[1]);
  char byte = 0;
  const bool ready = ::read(fds[0], &byte, 1) == 1;
  ::close(fds[0]);
  if (ready) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(child, SIGKILL);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!ready || !WIFSIGNALED(status)) {
    std::fprintf(stderr, "scale_bench: the feeder ended before the kill (status %d)\n", status);
    return 1;
  }
  int hour = options.hours;
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<KcStore>> store = KcStore::Open(options.dir, StoreOptions(&hour));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!store.ok()) {
    std::fprintf(stderr, "scale_bench: reopening after kill -9: %s\n",
                 store.status().message().c_str());
    return 1;
  }
  const StoreStartReport& report = (*store)->start_report();
  std::printf(
      "restart: after kill -9 markers_ingested %.2f open_s %.3f files_open %zu records %lld "
      "repair \"%s\"\n",
      static_cast<double>(MarkersIngested(**store)) / 1e6, seconds, (*store)->OpenPeriods(),
      static_cast<long long>(report.records_after), RepairSummary(report).c_str());
  return 0;
}

int Run(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--restart-check") {
      options.restart_check = true;
      continue;
    }
    if (i + 1 >= argc) return Usage(("missing value after " + std::string(arg)).c_str());
    const char* value = argv[++i];
    char* end = nullptr;
    if (arg == "--dir") {
      options.dir = value;
      continue;
    }
    if (arg == "--read-ahead") {
      const std::string_view mode = value;
      if (mode == "alternate") {
        options.read_ahead = ReadAhead::kAlternate;
      } else if (mode == "on") {
        options.read_ahead = ReadAhead::kOn;
      } else if (mode == "off") {
        options.read_ahead = ReadAhead::kOff;
      } else {
        return Usage(("bad --read-ahead " + std::string(mode) + ": alternate, on or off").c_str());
      }
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
  return options.restart_check ? RestartCheck(options) : Feed(options, -1);
}

}  // namespace
}  // namespace rt

int main(int argc, char** argv) { return rt::Run(argc, argv); }
