#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_format.h"
#include "tests/unit/spool/spool_test_util.h"

namespace rt {
namespace {

using testing::AppendRange;
using testing::Payload;
using testing::ReadAll;
using testing::SegmentFiles;
using testing::SpoolFixture;

// Record i of a spool whose segments are 4 KiB or more and whose payloads are 44 bytes
// starts here in its segment when the segment's first record is `first`.
size_t OffsetOf(uint64_t i, uint64_t first) {
  return spool::kSegmentHeaderBytes + (i - first) * spool::RecordBytes(44);
}

void Overwrite(const std::filesystem::path& file, size_t offset, const std::string& bytes) {
  std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(out);
  out.seekp(static_cast<std::streamoff>(offset));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

uint64_t FirstSeqOf(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  char header[spool::kSegmentHeaderBytes];
  in.read(header, sizeof header);
  REQUIRE(in);
  uint64_t first;
  std::memcpy(&first, header + 16, 8);
  return first;
}

TEST_CASE("a torn final record is truncated and reported, and appends continue after it",
          "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 10);
  }
  auto files = SegmentFiles(fixture.worker_dir("7"));
  REQUIRE(files.size() == 1);
  // Record 11 as a crash mid-memcpy leaves it: header and part of the payload.
  std::string torn(spool::kRecordHeaderBytes + 20, 'z');
  uint32_t len = 44;
  uint64_t seq = 11;
  std::memcpy(torn.data(), &len, 4);
  std::memcpy(torn.data() + 8, &seq, 8);
  Overwrite(files[0], OffsetOf(11, 1), torn);

  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(report.torn_tails == 1);
  REQUIRE(report.torn_bytes == spool::RecordBytes(20));  // 8-byte steps
  REQUIRE(report.corrupt_segments == 0);
  REQUIRE(report.gaps.empty());
  REQUIRE(report.messages.size() == 1);
  REQUIRE(report.messages[0].find("torn tail") != std::string::npos);
  REQUIRE(spool->next_seq() == 11);
  REQUIRE_FALSE(spool->GapAt(11));
  AppendRange(*spool, 11, 20);
  spool.reset();
  disk.reset();

  disk = fixture.OpenDisk();
  SpoolRecoveryReport again;
  spool = fixture.OpenSpool(*disk, "7", again);
  REQUIRE(again.messages.empty());
  auto payloads = ReadAll(*spool, 1);
  REQUIRE(payloads.size() == 20);
  for (uint64_t i = 1; i <= 20; ++i) REQUIRE(payloads[i - 1] == Payload(i));
}

TEST_CASE("a corrupted middle record moves the segment aside and its loss is an exact gap",
          "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk(fixture.Options(16384));
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 100);
  }
  auto files = SegmentFiles(fixture.worker_dir("7"));
  REQUIRE(files.size() == 1);
  Overwrite(files[0], OffsetOf(40, 1) + spool::kRecordHeaderBytes + 5, "XXXX");

  auto disk = fixture.OpenDisk(fixture.Options(16384));
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(report.corrupt_segments == 1);
  REQUIRE(report.lost_records == 1);
  REQUIRE(report.gaps.size() == 1);
  REQUIRE(report.gaps[0].gap.first == 40);
  REQUIRE(report.gaps[0].gap.last == 40);
  REQUIRE(std::filesystem::exists(fixture.worker_dir("7") + "/corrupt/" +
                                  files[0].filename().string()));
  REQUIRE_FALSE(std::filesystem::exists(files[0]));

  auto gap = spool->GapAt(40);
  REQUIRE(gap);
  REQUIRE(gap->first == 40);
  REQUIRE(gap->last == 40);
  REQUIRE_FALSE(spool->GapAt(39));
  REQUIRE_FALSE(spool->GapAt(41));
  auto before = ReadAll(*spool, 1);
  REQUIRE(before.size() == 39);  // Read stops before the gap
  auto after = ReadAll(*spool, 41);
  REQUIRE(after.size() == 60);
  for (uint64_t i = 1; i <= 39; ++i) REQUIRE(before[i - 1] == Payload(i));
  for (uint64_t i = 41; i <= 100; ++i) REQUIRE(after[i - 41] == Payload(i));
  REQUIRE(spool->next_seq() == 101);
  REQUIRE(spool->events() == 99);
  AppendRange(*spool, 101, 101);

  // Reported at every open until acknowledged past.
  spool.reset();
  SpoolRecoveryReport again;
  spool = fixture.OpenSpool(*disk, "7", again);
  REQUIRE(again.gaps.size() == 1);
  REQUIRE(again.corrupt_segments == 0);
  REQUIRE(ReadAll(*spool, 41).size() == 61);
  spool->Acknowledge(40);
  REQUIRE_FALSE(spool->GapAt(40));
  spool.reset();
  SpoolRecoveryReport acknowledged;
  spool = fixture.OpenSpool(*disk, "7", acknowledged);
  REQUIRE(acknowledged.gaps.empty());
  REQUIRE(spool->acknowledged() == 40);
  REQUIRE(ReadAll(*spool, 41).size() == 61);
}

TEST_CASE("a missing middle segment is a gap", "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 200);
  }
  auto files = SegmentFiles(fixture.worker_dir("7"));
  REQUIRE(files.size() >= 4);
  const uint64_t lost_first = FirstSeqOf(files[1]);
  const uint64_t lost_last = FirstSeqOf(files[2]) - 1;
  std::filesystem::remove(files[1]);

  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  INFO("lost " << lost_first << ".." << lost_last << " of " << files.size() << " files");
  for (const auto& message : report.messages) INFO(message);
  REQUIRE(report.gaps.size() == 1);
  REQUIRE(report.lost_records == lost_last - lost_first + 1);
  auto gap = spool->GapAt(lost_first);
  REQUIRE(gap);
  REQUIRE(gap->first == lost_first);
  REQUIRE(gap->last == lost_last);
  REQUIRE(ReadAll(*spool, 1).size() == lost_first - 1);
  auto after = ReadAll(*spool, lost_last + 1);
  REQUIRE(after.size() == 200 - lost_last);
  REQUIRE(after.front() == Payload(lost_last + 1));
  REQUIRE(spool->next_seq() == 201);
}

TEST_CASE("a segment with a damaged header is moved aside and its records are a gap",
          "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 200);
  }
  auto files = SegmentFiles(fixture.worker_dir("7"));
  REQUIRE(files.size() >= 4);
  const uint64_t lost_first = FirstSeqOf(files[1]);
  const uint64_t lost_last = FirstSeqOf(files[2]) - 1;
  Overwrite(files[1], 0, "rtspoolX");

  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(report.corrupt_segments == 1);
  REQUIRE(std::filesystem::exists(fixture.worker_dir("7") + "/corrupt/" +
                                  files[1].filename().string()));
  REQUIRE(report.gaps.size() == 1);
  REQUIRE(report.gaps[0].gap.first == lost_first);
  REQUIRE(report.gaps[0].gap.last == lost_last);
  REQUIRE(report.gaps[0].worker_id == "7");
  REQUIRE(ReadAll(*spool, lost_last + 1).size() == 200 - lost_last);
  // A new segment never takes the id of the one moved aside.
  AppendRange(*spool, 201, 400);
  for (const auto& file : SegmentFiles(fixture.worker_dir("7"))) {
    REQUIRE(file.filename() != files[1].filename());
  }
}

TEST_CASE("segments below the cursor left by an interrupted reclaim are deleted at open",
          "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 300);
  }
  auto files = SegmentFiles(fixture.worker_dir("7"));
  const uint64_t third_first = FirstSeqOf(files[2]);
  {
    std::ofstream cursor(fixture.worker_dir("7") + "/cursor");
    cursor << third_first - 1 << "\n";
  }
  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(report.messages.empty());
  REQUIRE(spool->acknowledged() == third_first - 1);
  REQUIRE_FALSE(std::filesystem::exists(files[0]));
  REQUIRE_FALSE(std::filesystem::exists(files[1]));
  REQUIRE(spool->events() == 300 - (third_first - 1));
  REQUIRE(report.records == spool->events());
  auto payloads = ReadAll(*spool, third_first);
  REQUIRE(payloads.size() == 300 - (third_first - 1));
  REQUIRE(payloads.front() == Payload(third_first));
  REQUIRE(disk->allocated_bytes() == spool->bytes());
}

TEST_CASE("an unreadable stream file starts a new stream after the cursor", "[spool][recovery]") {
  SpoolFixture fixture;
  {
    auto disk = fixture.OpenDisk();
    auto spool = fixture.OpenSpool(*disk);
    AppendRange(*spool, 1, 100);
    spool->Acknowledge(60);
  }
  {
    std::ofstream stream(fixture.worker_dir("7") + "/stream", std::ios::trunc);
    stream << "garbage without a base";
  }
  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  REQUIRE(fixture.new_streams() == 2);
  REQUIRE(spool->stream().id == "stream-2");
  REQUIRE(spool->stream().base == 60);
  REQUIRE(report.messages.size() == 1);
  REQUIRE(spool->next_seq() == 101);
}

TEST_CASE("a killed process loses no record whose Append returned", "[spool][recovery]") {
  SpoolFixture fixture;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    auto disk = SpoolDisk::Open(fixture.Options());
    if (!disk.ok()) ::_exit(2);
    SpoolRecoveryReport report;
    auto spool = FileSpool::Open(
        **disk, "7", [] { return std::string("s"); }, report);
    if (!spool.ok()) ::_exit(3);
    for (uint64_t i = 1; i <= 1'000'000; ++i) {
      auto seq = (*spool)->Append(Payload(i));
      if (!seq.ok() || *seq != i) ::_exit(4);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(5);
    }
    ::_exit(6);
  }
  ::close(fds[1]);
  // Kill it mid-stream once it has appended a few thousand records, then take the
  // highest seq it reported as returned.
  uint64_t returned = 0;
  uint64_t seq = 0;
  while (returned < 5000 && ::read(fds[0], &seq, sizeof seq) == sizeof seq) returned = seq;
  ::kill(child, SIGKILL);
  while (::read(fds[0], &seq, sizeof seq) == sizeof seq) returned = seq;
  ::close(fds[0]);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFSIGNALED(wstatus));
  REQUIRE(WTERMSIG(wstatus) == SIGKILL);
  REQUIRE(returned >= 5000);

  auto disk = fixture.OpenDisk();
  SpoolRecoveryReport report;
  auto spool = fixture.OpenSpool(*disk, "7", report);
  INFO("returned " << returned << ", next seq " << spool->next_seq());
  REQUIRE(report.gaps.empty());
  REQUIRE(spool->next_seq() >= returned + 1);
  auto payloads = ReadAll(*spool, 1);
  REQUIRE(payloads.size() == spool->next_seq() - 1);
  for (uint64_t i = 1; i <= returned; ++i) REQUIRE(payloads[i - 1] == Payload(i));
}

}  // namespace
}  // namespace rt
