#include "server/api/spool/spool_disk.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "server/api/spool/file_spool.h"
#include "tests/unit/spool/spool_test_util.h"

namespace rt {
namespace {

using testing::Payload;
using testing::SpoolFixture;

TEST_CASE("a second SpoolDisk on the same directory is refused", "[spool][disk]") {
  SpoolFixture fixture;
  auto first = fixture.OpenDisk();
  auto second = SpoolDisk::Open(fixture.Options());
  REQUIRE_FALSE(second.ok());
  REQUIRE(second.status().code() == Status::Code::kConflict);
  REQUIRE(second.status().message() == "spool " + fixture.dir() + " is in use by another process");
  first.reset();
  REQUIRE(SpoolDisk::Open(fixture.Options()).ok());
}

TEST_CASE("a segment size outside the bounds is refused", "[spool][disk]") {
  SpoolFixture fixture;
  for (size_t bytes : {size_t{0}, size_t{1000}, size_t{16} << 20}) {
    auto disk = SpoolDisk::Open(fixture.Options(bytes));
    REQUIRE(disk.status().code() == Status::Code::kInvalidArgument);
  }
}

// posix_fallocate past RLIMIT_FSIZE fails with EFBIG, as a full device fails with
// ENOSPC: in a child, so that the limit does not touch the test process.
TEST_CASE("a segment that cannot be allocated makes Append answer kUnavailable", "[spool][disk]") {
  SpoolFixture fixture;
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{8192, 8192};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(2);
    auto disk = SpoolDisk::Open(fixture.Options(16384));
    if (!disk.ok()) ::_exit(3);
    SpoolRecoveryReport report;
    auto spool = FileSpool::Open(
        **disk, "7", [] { return std::string("s"); }, report);
    if (!spool.ok()) ::_exit(4);
    auto seq = (*spool)->Append(Payload(1));
    if (seq.ok()) ::_exit(5);
    if (seq.status().code() != Status::Code::kUnavailable) ::_exit(6);
    if (seq.status().message().find("no space left on device for the spool") == std::string::npos)
      ::_exit(7);
    if ((*spool)->next_seq() != 1 || (*disk)->allocated_bytes() != 0) ::_exit(8);
    if (!fixture.fatals().empty()) ::_exit(9);
    spool->reset();
    ::_exit(0);
  }
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);
  // No half-made segment was left behind.
  REQUIRE(testing::SegmentFiles(fixture.worker_dir("7")).empty());
}

}  // namespace
}  // namespace rt
