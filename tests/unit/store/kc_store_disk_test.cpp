// Disk faults under the store (issue #16): a full disk, an unclean shutdown, a
// damaged batch log. Real files in temp dirs; the full disk is a real 8 MiB tmpfs.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "server/store/batch_log.h"
#include "server/store/kc_store.h"
#include "server/store/start_report.h"
#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

using testing::KeyOf;
using testing::NewUsers;
using testing::OpenOrDie;
using testing::TempDir;

// A tmpfs of `size` mounted on `dir` for the life of the object. Needs root (CI runs
// as root); `mounted()` is false, with `why()`, where it cannot be made.
class SmallFilesystem {
 public:
  SmallFilesystem(const std::string& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    if (::geteuid() != 0) {
      why_ = "not root";
    } else if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_;
};

// Writes `path` until the filesystem is full; false if it never filled up (bounded).
bool FillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const std::string chunk(64 << 10, 'x');
  bool full = false;
  for (int i = 0; i < 4096 && !full; ++i) {  // 256 MiB at most
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    full = n < 0 ? errno == ENOSPC : n < static_cast<ssize_t>(chunk.size());
  }
  ::close(fd);
  return full;
}

TEST_CASE(
    "a full disk refuses a batch as no space, applies none of it, and takes it once space is back",
    "[store][disk]") {
  TempDir dir;
  SmallFilesystem fs(dir.Sub("small"), "8m");
  if (!fs.mounted()) {
    WARN("skipped: needs an 8 MiB tmpfs (" + fs.why() + ")");
    return;
  }
  // The whole file inside Kyoto's memory map: without the reserve, the batch below
  // would store into an unallocated page of the map and die of SIGBUS.
  KcStoreOptions options;
  options.buckets = 1 << 12;
  options.map_bytes = int64_t{64} << 20;
  options.reserve_step_bytes = 256 << 10;
  const std::string data = dir.Sub("small/data");
  {
    auto opened = KcStore::Open(data, options);
    INFO(opened.status().message());
    REQUIRE(opened.ok());
    KcStore& store = **opened;
    REQUIRE(store.ApplyBatch("s", 1, "kid", NewUsers(5, 0, 100)).ok());
    REQUIRE(FillUp(dir.Sub("small/filler")));

    const std::vector<BatchEvent> big = NewUsers(5, 100, 20000);  // ~2.5 MiB of markers
    Result<BatchOutcome> refused = store.ApplyBatch("s", 101, "kid", big);
    REQUIRE_FALSE(refused.ok());
    INFO(refused.status().message());
    CHECK(refused.status().code() == Status::Code::kResourceExhausted);
    CHECK(store.StatsFor(5) == SliceStats{100, 100, 0});
    // Still refused, still nothing applied, and the worker goes on answering.
    CHECK(store.ApplyBatch("s", 101, "kid", big).status().code() ==
          Status::Code::kResourceExhausted);

    std::filesystem::remove(dir.Sub("small/filler"));
    Result<BatchOutcome> applied = store.ApplyBatch("s", 101, "kid", big);
    INFO(applied.status().message());
    REQUIRE(applied.ok());
    CHECK(applied->applied == 20000);
    CHECK(applied->acked_seq == 20100);
    CHECK(store.StatsFor(5) == SliceStats{20100, 20100, 0});
  }
  auto reopened = KcStore::Open(data, options);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->StatsFor(5) == SliceStats{20100, 20100, 0});
  CHECK_FALSE((*reopened)->start_report().repaired());
}

TEST_CASE("a store killed without closing reports the repair Kyoto made on the next open",
          "[store][disk]") {
  TempDir dir;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    KcStoreOptions options;
    options.buckets = 1 << 12;
    options.map_bytes = 1 << 20;
    auto store = KcStore::Open(dir.path(), options);
    if (!store.ok()) _exit(3);
    if (!(*store)->ApplyBatch("s", 1, "kid", NewUsers(9, 0, 500)).ok()) _exit(4);
    raise(SIGKILL);  // no close, no sync
    _exit(5);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  {
    auto store = OpenOrDie(dir.path());
    const StoreStartReport& report = store->start_report();
    CHECK(report.repaired());
    CHECK(report.rebuilt);  // the header still said "open"
    // 500 markers, a counter, the directory, a mark, the key id: all kept.
    CHECK(report.records_before == 504);
    CHECK(report.records_after == 504);
    CHECK_FALSE(RepairSummary(report).empty());
    CHECK(store->StatsFor(9) == SliceStats{500, 500, 0});
  }
  // Closed cleanly this time: nothing to repair, nothing reported.
  auto store = OpenOrDie(dir.path());
  CHECK_FALSE(store->start_report().repaired());
  CHECK(RepairSummary(store->start_report()).empty());
}

TEST_CASE("after kill -9 only the period files written since they were last idle are repaired",
          "[store][disk]") {
  TempDir dir;
  KcStoreOptions options;
  options.buckets = 1 << 12;
  options.map_bytes = 1 << 20;
  options.reserve_step_bytes = 1 << 20;
  options.close_idle_after = std::chrono::milliseconds(0);  // idle after every batch
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto store = KcStore::Open(dir.path(), options);
    if (!store.ok()) _exit(3);
    // Periods 0, 2, then 0 again: before each batch the file the last one wrote is
    // closed as idle, and the third batch reopens period 0's.
    if (!(*store)->ApplyBatch("s", 1, "kid", NewUsers(0, 0, 100)).ok()) _exit(4);
    if (!(*store)->ApplyBatch("s", 101, "kid", NewUsers(12, 0, 50)).ok()) _exit(5);
    if (!(*store)->ApplyBatch("s", 151, "kid", NewUsers(1, 0, 30)).ok()) _exit(6);
    if ((*store)->IdleClosedFiles() != 1) _exit(7);  // period 2's
    raise(SIGKILL);                                  // no close, no sync
    _exit(8);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  options.close_idle_after = std::chrono::milliseconds(-1);
  auto store = OpenOrDie(dir.path(), options);
  const StoreStartReport& report = store->start_report();
  CHECK(report.rebuilt);
  CHECK(report.files_repaired == 1);  // period 0's; period 2's was closed cleanly
  CHECK(RepairSummary(report).ends_with(" s, 1 file"));
  CHECK(store->StatsFor(0) == SliceStats{100, 100, 0});
  CHECK(store->StatsFor(1) == SliceStats{30, 30, 0});
  CHECK(store->StatsFor(12) == SliceStats{50, 50, 0});
  CHECK(store->StoredMark("s").value() == 180);
}

// Three logged batches of one stream, fsynced as the writer does.
uint64_t WriteThreeBatches(const std::string& path, uint64_t* end_of_second = nullptr) {
  auto log = BatchLog::Open(path);
  REQUIRE(log.ok());
  for (uint64_t n = 0; n < 3; ++n) {
    (*log)->Append({"s", 1 + 10 * n, "kid", NewUsers(4, static_cast<uint32_t>(10 * n), 10)});
    REQUIRE((*log)->Flush().ok());
    if (n == 1 && end_of_second != nullptr) *end_of_second = (*log)->SizeBytes();
  }
  return (*log)->SizeBytes();
}

void FlipByte(const std::string& path, uint64_t at) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekg(static_cast<std::streamoff>(at));
  const char byte = static_cast<char>(file.get());
  file.seekp(static_cast<std::streamoff>(at));
  file.put(static_cast<char>(byte ^ 0x5a));
}

TEST_CASE("damage in the middle of the batch log refuses start-up and leaves the log alone",
          "[store][disk][batch_log]") {
  TempDir dir;
  const std::string path = dir.Sub("batches.log");
  const uint64_t size = WriteThreeBatches(path);
  FlipByte(path, size / 2);  // inside the second record: the third is good

  auto log = BatchLog::Open(path);
  REQUIRE(log.ok());
  Result<BatchLog::Contents> contents = (*log)->ReadAll();
  REQUIRE_FALSE(contents.ok());
  CHECK(contents.status().code() == Status::Code::kIoError);
  CHECK(std::filesystem::file_size(path) == size);  // nothing cut

  KcStoreOptions fsync;
  fsync.fsync = true;
  fsync.buckets = 1 << 12;
  fsync.map_bytes = 1 << 20;
  Result<std::unique_ptr<KcStore>> store = KcStore::Open(dir.path(), fsync);
  REQUIRE_FALSE(store.ok());
  INFO(store.status().message());
  CHECK(store.status().code() == Status::Code::kIoError);
  CHECK(std::filesystem::file_size(path) == size);
}

TEST_CASE("a torn batch log tail is cut off, reported in bytes, and the batches before it replayed",
          "[store][disk][batch_log]") {
  TempDir dir;
  const std::string path = dir.Sub("batches.log");
  uint64_t end_of_second = 0;
  const uint64_t size = WriteThreeBatches(path, &end_of_second);
  const uint64_t cut = GENERATE(uint64_t{1}, uint64_t{30});
  std::filesystem::resize_file(path, size - cut);  // the last append torn by a crash

  KcStoreOptions fsync;
  fsync.fsync = true;
  auto store = OpenOrDie(dir.path(), fsync);
  CHECK(store->start_report().log_batches_replayed == 2);
  CHECK(store->start_report().log_torn_tail_bytes == size - cut - end_of_second);
  CHECK_FALSE(TornTailSummary(store->start_report()).empty());
  CHECK(store->StatsFor(4) == SliceStats{20, 20, 0});
}

}  // namespace
}  // namespace rt
