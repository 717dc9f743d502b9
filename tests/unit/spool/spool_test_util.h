#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_disk.h"
#include "tests/support/temp_dir.h"

namespace rt::testing {

// 44 bytes, the size of a typical event's batch line; distinct for every i.
inline std::string Payload(uint64_t i) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "ev-%020llu-", static_cast<unsigned long long>(i));
  std::string payload = buffer;
  payload.append(44 - payload.size(), static_cast<char>('a' + i % 26));
  return payload;
}

// A spool directory in a temp dir, the fatal errors its disks reported, and helpers
// that REQUIRE success.
class SpoolFixture {
 public:
  std::string dir() const { return tmp_.Sub("spool"); }
  std::string worker_dir(const std::string& id) const { return dir() + "/" + id; }

  SpoolDisk::Options Options(size_t segment_bytes = 4096, uint64_t max_bytes = 1 << 30,
                             bool fsync = false) {
    SpoolDisk::Options options;
    options.dir = dir();
    options.segment_bytes = segment_bytes;
    options.max_bytes = max_bytes;
    options.fsync = fsync;
    options.on_fatal = [this](const Status& status) {
      std::lock_guard lock(mu_);
      fatals_.push_back(status.message());
    };
    return options;
  }

  std::unique_ptr<SpoolDisk> OpenDisk(SpoolDisk::Options options) {
    auto disk = SpoolDisk::Open(std::move(options));
    INFO(disk.status().message());
    REQUIRE(disk.ok());
    return std::move(disk).value();
  }
  std::unique_ptr<SpoolDisk> OpenDisk() { return OpenDisk(Options()); }

  std::unique_ptr<FileSpool> OpenSpool(SpoolDisk& disk, const std::string& worker_id,
                                       SpoolRecoveryReport& report) {
    auto spool = FileSpool::Open(
        disk, worker_id, [this] { return "stream-" + std::to_string(++new_streams_); }, report);
    INFO(spool.status().message());
    REQUIRE(spool.ok());
    return std::move(spool).value();
  }
  std::unique_ptr<FileSpool> OpenSpool(SpoolDisk& disk, const std::string& worker_id = "7") {
    SpoolRecoveryReport report;
    return OpenSpool(disk, worker_id, report);
  }

  int new_streams() const { return new_streams_; }
  std::vector<std::string> fatals() {
    std::lock_guard lock(mu_);
    return fatals_;
  }

 private:
  TempDir tmp_;
  std::mutex mu_;
  std::vector<std::string> fatals_;
  int new_streams_ = 0;
};

inline void AppendRange(EventSpool& spool, uint64_t first, uint64_t last) {
  for (uint64_t i = first; i <= last; ++i) {
    auto seq = spool.Append(Payload(i));
    INFO(seq.status().message());
    REQUIRE(seq.ok());
    REQUIRE(*seq == i);
  }
}

// Every 44-byte payload from `from` up to the end or a gap, in order.
inline std::vector<std::string> ReadAll(EventSpool& spool, uint64_t from) {
  std::vector<std::string> payloads;
  for (int batch = 0; batch < 100000; ++batch) {
    std::string body;
    size_t n = spool.Read(from + payloads.size(), 97, 1 << 20, body);
    if (n == 0) break;
    REQUIRE(body.size() == 44 * n);
    for (size_t i = 0; i < n; ++i) payloads.push_back(body.substr(44 * i, 44));
  }
  return payloads;
}

// The segment files of a worker dir, sorted by name (= by id).
inline std::vector<std::filesystem::path> SegmentFiles(const std::string& worker_dir) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::exists(worker_dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(worker_dir)) {
    if (entry.path().extension() == ".seg") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace rt::testing
