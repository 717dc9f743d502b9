// Micro-benchmarks of the file spool's hot paths (docs/design.md §13 "Spool"):
// Append of one event's 44-byte batch line (per POST) and Read of 4096-record
// batches (the forwarder). Without fsync: the cost on the POST path is the mutex,
// the CRC and the memcpy into the mapping. Run on a local disk (tmpfs hides the
// page faults of a real file system).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_disk.h"
#include "server/api/spool/spool_format.h"

namespace rt {
namespace {

class BenchSpool {
 public:
  BenchSpool() {
    char dir_template[] = "/var/tmp/rt-spool-bench-XXXXXX";
    char* dir = ::mkdtemp(dir_template);
    if (dir == nullptr) std::abort();
    dir_ = dir;
    SpoolDisk::Options options;
    options.dir = dir_;
    auto disk = SpoolDisk::Open(options);
    if (!disk.ok()) std::abort();
    disk_ = std::move(disk).value();
    SpoolRecoveryReport report;
    auto spool = FileSpool::Open(
        *disk_, "1", [] { return std::string("bench"); }, report);
    if (!spool.ok()) std::abort();
    spool_ = std::move(spool).value();
  }
  ~BenchSpool() {
    spool_.reset();
    disk_.reset();
    std::filesystem::remove_all(dir_);
  }
  FileSpool& spool() { return *spool_; }

 private:
  std::string dir_;
  std::unique_ptr<SpoolDisk> disk_;
  std::unique_ptr<FileSpool> spool_;
};

const std::string kPayload = "1732800000000\t1\t0123456789abcdef01234567\tc\n";

void BM_SpoolAppend44(benchmark::State& state) {
  BenchSpool bench;
  uint64_t seq = 0;
  for (auto _ : state) {
    auto appended = bench.spool().Append(kPayload);
    if (!appended.ok()) state.SkipWithError(appended.status().message().c_str());
    seq = *appended;
    // Acknowledged as a live worker would, so that the disk thread reclaims behind.
    if ((seq & 0xFFFF) == 0) bench.spool().Acknowledge(seq);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpoolAppend44);

void BM_SpoolRead4096(benchmark::State& state) {
  BenchSpool bench;
  constexpr uint64_t kRecords = 4096 * 64;
  for (uint64_t i = 0; i < kRecords; ++i) {
    if (!bench.spool().Append(kPayload).ok()) std::abort();
  }
  std::string body;
  body.reserve(4096 * 64);
  uint64_t from = 1;
  for (auto _ : state) {
    body.clear();
    size_t n = bench.spool().Read(from, 4096, 1 << 20, body);
    benchmark::DoNotOptimize(body.data());
    from = from + n > kRecords ? 1 : from + n;
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_SpoolRead4096);

void BM_Crc32c60(benchmark::State& state) {
  const std::string data(60, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(spool::Crc32c(data.data(), data.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Crc32c60);

}  // namespace
}  // namespace rt

BENCHMARK_MAIN();
