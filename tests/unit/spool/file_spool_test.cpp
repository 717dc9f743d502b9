#include "server/api/spool/file_spool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "server/api/spool/spool_format.h"
#include "tests/support/wait_for.h"
#include "tests/unit/spool/spool_test_util.h"

namespace rt {
namespace {

using testing::AppendRange;
using testing::Payload;
using testing::ReadAll;
using testing::SegmentFiles;
using testing::SpoolFixture;
using testing::WaitFor;

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("appended records read back in order across several segments", "[spool]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk();
  auto spool = fixture.OpenSpool(*disk);
  REQUIRE(spool->next_seq() == 1);
  AppendRange(*spool, 1, 500);
  // 4 KiB segments hold 56 records of 44 bytes: the 500 span 9 files.
  REQUIRE(SegmentFiles(fixture.worker_dir("7")).size() >= 9);
  auto payloads = ReadAll(*spool, 1);
  REQUIRE(payloads.size() == 500);
  for (uint64_t i = 1; i <= 500; ++i) REQUIRE(payloads[i - 1] == Payload(i));

  std::string body;
  REQUIRE(spool->Read(10, 100, 100, body) == 2);  // 88 bytes fit in 100, 132 do not
  REQUIRE(body == Payload(10) + Payload(11));
  body.clear();
  REQUIRE(spool->Read(10, 100, 1, body) == 1);  // at least one record
  REQUIRE(spool->Read(501, 100, 1 << 20, body) == 0);
  REQUIRE(spool->events() == 500);
  REQUIRE(spool->bytes() >= 9 * 4096);
  const int64_t oldest = spool->oldest_unacknowledged_ms();
  REQUIRE(oldest > 0);
  spool->Acknowledge(250);
  REQUIRE(spool->oldest_unacknowledged_ms() >= oldest);
  spool->Acknowledge(500);
  REQUIRE(spool->oldest_unacknowledged_ms() == 0);
  REQUIRE(spool->events() == 0);
  REQUIRE(fixture.fatals().empty());
}

// Mapped segments are what a spool keeps in RSS: /proc/self/maps lists them.
size_t MappedSegments(const std::string& worker_dir) {
  std::ifstream maps("/proc/self/maps");
  size_t count = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(worker_dir + "/") != std::string::npos) ++count;
  }
  return count;
}

TEST_CASE("a spool keeps only a few segments mapped however many it holds", "[spool][rss]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk();
  auto spool = fixture.OpenSpool(*disk);
  const std::string worker_dir = fixture.worker_dir("7");
  AppendRange(*spool, 1, 2000);  // 36 segments, none read
  REQUIRE(SegmentFiles(worker_dir).size() >= 36);
  // The current one, the preallocated next, and at most one full one not yet unmapped.
  REQUIRE(WaitFor([&] { return MappedSegments(worker_dir) <= 3; }));
  size_t most = 0;
  for (uint64_t from = 1; from <= 2000; from += 100) {
    std::string body;
    REQUIRE(spool->Read(from, 100, 1 << 20, body) == 100);
    most = std::max(most, MappedSegments(worker_dir));
  }
  REQUIRE(most <= 4);  // plus the one being read

  // Reopened: only the last segment is mapped, however many were scanned.
  spool.reset();
  spool = fixture.OpenSpool(*disk);
  REQUIRE(MappedSegments(worker_dir) <= 1);
  REQUIRE(ReadAll(*spool, 1).size() == 2000);
}

TEST_CASE("a reopened spool resumes its next seq, stream and cursor", "[spool]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    REQUIRE(spool->stream().id == "stream-1");
    REQUIRE(spool->stream().base == 0);
    AppendRange(*spool, 1, 200);
    spool->Acknowledge(120);
    REQUIRE(spool->StartNewStream({"stream-b", 120}).ok());
  }
  auto disk = fixture.OpenDisk();
  REQUIRE(disk->workers() == std::vector<std::string>{"7"});
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(fixture.new_streams() == 1);  // the stream came from the file
  REQUIRE(spool->stream().id == "stream-b");
  REQUIRE(spool->stream().base == 120);
  REQUIRE(spool->acknowledged() == 120);
  REQUIRE(spool->next_seq() == 201);
  REQUIRE(spool->events() == 80);
  REQUIRE(report.records == 80);
  REQUIRE(report.messages.empty());
  auto payloads = ReadAll(*spool, 121);
  REQUIRE(payloads.size() == 80);
  REQUIRE(payloads.front() == Payload(121));
  AppendRange(*spool, 201, 210);
  REQUIRE(ReadAll(*spool, 121).size() == 90);
}

TEST_CASE("acknowledging deletes whole segments and writes the cursor first", "[spool]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk();
  auto spool = fixture.OpenSpool(*disk);
  AppendRange(*spool, 1, 300);
  const std::string worker_dir = fixture.worker_dir("7");
  const size_t before = SegmentFiles(worker_dir).size();
  const uint64_t bytes_before = spool->bytes();
  spool->Acknowledge(150);
  // Records 1..150 fill the first two segments (56 each) and part of the third.
  bool cursor_seen_first = true;
  REQUIRE(WaitFor([&] {
    size_t now = SegmentFiles(worker_dir).size();
    if (now < before && FileText(worker_dir + "/cursor") != "150\n") cursor_seen_first = false;
    return now == before - 2;
  }));
  REQUIRE(cursor_seen_first);
  REQUIRE(FileText(worker_dir + "/cursor") == "150\n");
  REQUIRE(spool->bytes() < bytes_before);
  // The accounting follows the files (the disk thread may preallocate meanwhile).
  REQUIRE(WaitFor([&] { return spool->bytes() == 4096 * SegmentFiles(worker_dir).size(); }));
  REQUIRE(spool->events() == 150);
  auto payloads = ReadAll(*spool, 151);
  REQUIRE(payloads.size() == 150);
  REQUIRE(payloads.front() == Payload(151));
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("a full spool refuses appends and takes them again after acknowledgement",
          "[spool][budget]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk(fixture.Options(4096, 3 * 4096));
  auto busy = fixture.OpenSpool(*disk, "1");
  uint64_t appended = 0;
  Status refused;
  for (int i = 0; i < 10000; ++i) {
    auto seq = busy->Append(Payload(appended + 1));
    if (!seq.ok()) {
      refused = seq.status();
      break;
    }
    ++appended;
  }
  REQUIRE(refused.code() == Status::Code::kUnavailable);
  REQUIRE(refused.message().find("spool for worker 1 is full") != std::string::npos);
  REQUIRE(appended >= 2 * 56);
  REQUIRE(disk->allocated_bytes() <= 4 * 4096);
  // Nothing was appended by the refused call, and the next seq did not move.
  REQUIRE(busy->next_seq() == appended + 1);

  // A healthy worker is not blocked by the full one: it may hold two segments.
  auto healthy = fixture.OpenSpool(*disk, "2");
  AppendRange(*healthy, 1, 100);

  busy->Acknowledge(appended);
  REQUIRE(WaitFor([&] {
    auto seq = busy->Append(Payload(appended + 1));
    if (seq.ok()) ++appended;
    return seq.ok();
  }));
  REQUIRE(ReadAll(*busy, appended).size() == 1);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("acknowledged segments waiting to be deleted do not count against a full budget",
          "[spool][budget]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk(fixture.Options(4096, 3 * 4096));
  auto busy = fixture.OpenSpool(*disk, "1");
  uint64_t busy_appended = 0;
  while (busy_appended < 10000 && busy->Append(Payload(busy_appended + 1)).ok()) ++busy_appended;
  REQUIRE(busy_appended < 10000);  // the dead worker's backlog filled the budget

  // A healthy worker acknowledges each record at once: however far its acknowledged
  // segments are from being deleted by the disk thread, every append is taken (the
  // budget counted them before, so a rollover right after an acknowledgement could be
  // refused until the thread caught up).
  auto healthy = fixture.OpenSpool(*disk, "2");
  for (uint64_t seq = 1; seq <= 40 * 56; ++seq) {
    auto appended = healthy->Append(Payload(seq));
    INFO("seq " << seq);
    REQUIRE(appended.ok());
    healthy->Acknowledge(seq);
  }
  REQUIRE(healthy->events() == 0);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("in fsync mode WhenDurable completions run after a sync, in order", "[spool][fsync]") {
  SpoolFixture fixture;
  Histogram fsync_seconds;
  auto options = fixture.Options(4096, 1 << 30, /*fsync=*/true);
  options.fsync_seconds = &fsync_seconds;
  auto disk = fixture.OpenDisk(options);
  auto spool = fixture.OpenSpool(*disk);
  std::mutex mu;
  std::vector<uint64_t> done;
  std::vector<uint64_t> syncs_seen;
  bool on_caller_thread = false;
  const auto caller = std::this_thread::get_id();
  for (uint64_t i = 1; i <= 200; ++i) {
    auto seq = spool->Append(Payload(i));
    REQUIRE(seq.ok());
    spool->WhenDurable(*seq, [&, seq = *seq] {
      std::lock_guard lock(mu);
      done.push_back(seq);
      syncs_seen.push_back(fsync_seconds.Count());
      if (std::this_thread::get_id() == caller) on_caller_thread = true;
    });
  }
  REQUIRE(WaitFor([&] {
    std::lock_guard lock(mu);
    return done.size() == 200;
  }));
  std::lock_guard lock(mu);
  REQUIRE_FALSE(on_caller_thread);
  for (uint64_t i = 1; i <= 200; ++i) REQUIRE(done[i - 1] == i);
  for (uint64_t seen : syncs_seen) REQUIRE(seen >= 1);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE(
    "in fsync mode a group waits its sync window, so one sync covers the records asked for in it",
    "[spool][fsync]") {
  SpoolFixture fixture;
  Histogram fsync_seconds;
  // 64 KiB segments: 100 records stay below half of one, so no preallocation wakes the
  // disk thread early; the window is far longer than the test.
  auto options = fixture.Options(64 * 1024, 1 << 30, /*fsync=*/true);
  options.fsync_seconds = &fsync_seconds;
  options.sync_window = std::chrono::minutes(10);
  auto disk = fixture.OpenDisk(options);
  auto spool = fixture.OpenSpool(*disk);
  std::atomic<uint64_t> done{0};
  for (uint64_t i = 1; i <= 100; ++i) {
    auto seq = spool->Append(Payload(i));
    REQUIRE(seq.ok());
    spool->WhenDurable(*seq, [&] { done.fetch_add(1); });
  }
  REQUIRE(done.load() == 0);
  REQUIRE(fsync_seconds.Count() == 0);
  // Closing syncs what is written and completes every waiter: one sync for all 100.
  spool.reset();
  REQUIRE(done.load() == 100);
  REQUIRE(fsync_seconds.Count() == 1);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("in fsync mode the sync window's wake-up alone completes a group", "[spool][fsync]") {
  SpoolFixture fixture;
  Histogram fsync_seconds;
  auto options = fixture.Options(64 * 1024, 1 << 30, /*fsync=*/true);
  options.fsync_seconds = &fsync_seconds;
  options.sync_window = std::chrono::milliseconds(20);
  auto disk = fixture.OpenDisk(options);
  auto spool = fixture.OpenSpool(*disk);
  std::atomic<uint64_t> done{0};
  // Two groups: the second is asked for after the first completed, so it needs a
  // wake-up of its own.
  for (uint64_t group = 1; group <= 2; ++group) {
    for (uint64_t i = 1; i <= 10; ++i) {
      auto seq = spool->Append(Payload(group * 100 + i));
      REQUIRE(seq.ok());
      spool->WhenDurable(*seq, [&] { done.fetch_add(1); });
    }
    REQUIRE(WaitFor([&] { return done.load() == group * 10; }));
  }
  REQUIRE(fsync_seconds.Count() >= 2);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("without fsync WhenDurable completes at once on the caller", "[spool][fsync]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk();
  auto spool = fixture.OpenSpool(*disk);
  auto seq = spool->Append(Payload(1));
  REQUIRE(seq.ok());
  bool done = false;
  spool->WhenDurable(*seq, [&] { done = true; });
  REQUIRE(done);
}

TEST_CASE("concurrent appends get contiguous seqs and keep every payload intact",
          "[spool][threads]") {
  SpoolFixture fixture;
  auto disk = fixture.OpenDisk();
  auto spool = fixture.OpenSpool(*disk);
  constexpr int kThreads = 4;
  constexpr uint64_t kEach = 2000;
  std::vector<std::map<uint64_t, std::string>> got(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < kEach; ++i) {
        std::string payload = Payload(t * 1'000'000 + i);
        auto seq = spool->Append(payload);
        if (!seq.ok()) {
          ++failures;
          return;
        }
        got[t][*seq] = payload;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == 0);
  std::map<uint64_t, std::string> all;
  for (const auto& per_thread : got) all.insert(per_thread.begin(), per_thread.end());
  REQUIRE(all.size() == kThreads * kEach);
  REQUIRE(all.begin()->first == 1);
  REQUIRE(all.rbegin()->first == kThreads * kEach);
  auto payloads = ReadAll(*spool, 1);
  REQUIRE(payloads.size() == kThreads * kEach);
  for (const auto& [seq, payload] : all) REQUIRE(payloads[seq - 1] == payload);
  REQUIRE(fixture.fatals().empty());
}

TEST_CASE("the fast CRC32C agrees with the portable one and the standard check value", "[spool]") {
  const std::string check = "123456789";
  REQUIRE(spool::Crc32c(check.data(), check.size()) == 0xE3069283);  // RFC 3720 check
  REQUIRE(spool::Crc32cPortable(check.data(), check.size()) == 0xE3069283);
  std::string data;
  for (size_t size = 0; size < 300; ++size) {
    REQUIRE(spool::Crc32c(data.data(), data.size()) ==
            spool::Crc32cPortable(data.data(), data.size()));
    data += static_cast<char>(size * 131 + 7);
  }
}

TEST_CASE("worker ids map to directory names and back", "[spool]") {
  for (std::string id : {"7", "worker-a.1_b", "x1", ".", "..", "a/b", "", "ü"}) {
    std::string name = spool::WorkerDirName(id);
    INFO(id << " -> " << name);
    REQUIRE(name.find('/') == std::string::npos);
    REQUIRE(name != ".");
    REQUIRE(name != "..");
    std::string back;
    REQUIRE(spool::ParseWorkerDirName(name, back));
    REQUIRE(back == id);
  }
  REQUIRE(spool::WorkerDirName("7") == "7");
  REQUIRE(spool::WorkerDirName("a/b") == "x612f62");
}

}  // namespace
}  // namespace rt
