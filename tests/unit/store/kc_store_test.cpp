#include "server/store/kc_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "server/store/batch_log.h"
#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

using testing::KeyOf;
using testing::OpenOrDie;
using testing::TempDir;

BatchEvent Click(int64_t slice, uint32_t user) { return {slice, KeyOf(user), Action::kClick}; }
BatchEvent Impression(int64_t slice, uint32_t user) {
  return {slice, KeyOf(user), Action::kImpression};
}

TEST_CASE("new users are counted once, known users only add events", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<BatchEvent> events = {Click(1, 1), Impression(1, 1), Impression(1, 2), Click(2, 1),
                                    Impression(1, 2)};
  auto outcome = store->ApplyBatch("api0:1", 1, "kid1", events);
  REQUIRE(outcome.ok());
  CHECK(outcome->applied == 5);
  CHECK(outcome->duplicates == 0);
  CHECK(outcome->acked_seq == 5);
  CHECK(store->StatsFor(1) == SliceStats{2, 1, 3});
  CHECK(store->StatsFor(2) == SliceStats{1, 1, 0});  // same user, other slice: new there
  CHECK(store->StatsFor(3) == SliceStats{});
  REQUIRE(outcome->touched.size() == 2);
  CHECK(outcome->touched[0] == std::pair<int64_t, SliceStats>{1, {2, 1, 3}});
  CHECK(outcome->touched[1] == std::pair<int64_t, SliceStats>{2, {1, 1, 0}});

  std::vector<BatchEvent> more = {Click(1, 2), Click(1, 3)};
  REQUIRE(store->ApplyBatch("api0:1", 6, "kid1", more).ok());
  CHECK(store->StatsFor(1) == SliceStats{3, 3, 3});
  CHECK(store->SliceCount() == 2);
  CHECK(store->AllSlices() ==
        std::vector<std::pair<int64_t, SliceStats>>{{1, {3, 3, 3}}, {2, {1, 1, 0}}});
  CHECK(store->SizeBytes() > 0);
}

TEST_CASE("a retried batch counts once", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<BatchEvent> events = {Click(7, 1), Click(7, 2), Impression(7, 3)};
  REQUIRE(store->ApplyBatch("s", 1, "kid", events).ok());
  auto retry = store->ApplyBatch("s", 1, "kid", events);
  REQUIRE(retry.ok());
  CHECK(retry->applied == 0);
  CHECK(retry->duplicates == 3);
  CHECK(retry->acked_seq == 3);
  CHECK(store->StatsFor(7) == SliceStats{3, 2, 1});
  REQUIRE(retry->touched.size() == 1);
  CHECK(retry->touched[0].second == SliceStats{3, 2, 1});
}

TEST_CASE("a batch overlapping the mark applies only its new tail", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<BatchEvent> first = {Click(1, 1), Click(1, 2)};
  REQUIRE(store->ApplyBatch("s", 1, "kid", first).ok());
  // seqs 2..4: seq 2 was applied before.
  std::vector<BatchEvent> overlap = {Click(1, 2), Impression(1, 3), Impression(1, 4)};
  auto outcome = store->ApplyBatch("s", 2, "kid", overlap);
  REQUIRE(outcome.ok());
  CHECK(outcome->duplicates == 1);
  CHECK(outcome->applied == 2);
  CHECK(outcome->acked_seq == 4);
  CHECK(store->StatsFor(1) == SliceStats{4, 2, 2});
}

TEST_CASE("a batch leaving a gap is refused with the expected seq as a number", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<BatchEvent> events = {Click(1, 1), Click(1, 2)};
  REQUIRE(store->ApplyBatch("s", 1, "kid", events).ok());
  auto gap = store->ApplyBatch("s", 4, "kid", events);
  REQUIRE(gap.ok());
  CHECK(gap->verdict == BatchVerdict::kGap);
  CHECK(gap->refused());
  CHECK(gap->expected_seq == 3);
  CHECK(gap->applied == 0);
  CHECK(gap->touched.empty());
  CHECK(store->StatsFor(1) == SliceStats{2, 2, 0});
  // Streams are independent; a new stream must start at 1.
  auto fresh = store->ApplyBatch("other", 2, "kid", events);
  REQUIRE(fresh.ok());
  CHECK(fresh->verdict == BatchVerdict::kGap);
  CHECK(fresh->expected_seq == 1);
  CHECK(store->ApplyBatch("other", 0, "kid", events).status().code() ==
        Status::Code::kInvalidArgument);
  // The refusals moved no mark: the stream continues where it was.
  const std::vector<BatchEvent> third = {Click(1, 3)};
  auto next = store->ApplyBatch("s", 3, "kid", third);
  REQUIRE(next.ok());
  CHECK(next->verdict == BatchVerdict::kApplied);
  CHECK(next->acked_seq == 3);
}

TEST_CASE("a different key id is refused as a key mismatch carrying both ids", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  std::vector<BatchEvent> events = {Click(1, 1)};
  REQUIRE(store->ApplyBatch("s", 1, "aaaa1111", events).ok());
  CHECK(store->StoredKeyId() == "aaaa1111");
  auto other = store->ApplyBatch("t", 1, "bbbb2222", events);
  REQUIRE(other.ok());
  CHECK(other->verdict == BatchVerdict::kKeyMismatch);
  CHECK(other->stored_key_id == "aaaa1111");
  CHECK(other->offered_key_id == "bbbb2222");
  CHECK(other->applied == 0);
  CHECK(store->StatsFor(1) == SliceStats{1, 1, 0});
  // The refused batch did not advance its stream either.
  auto same = store->ApplyBatch("t", 1, "aaaa1111", events);
  REQUIRE(same.ok());
  CHECK(same->verdict == BatchVerdict::kApplied);
  CHECK(same->acked_seq == 1);
}

TEST_CASE("state survives close and reopen", "[store]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    std::vector<BatchEvent> events = {Click(1, 1), Impression(2, 2), Click(3, 3)};
    REQUIRE(store->ApplyBatch("s", 1, "kid", events).ok());
    REQUIRE(store->ApplySingle(3, KeyOf(4), Action::kImpression).ok());
  }
  auto store = OpenOrDie(dir.path());
  CHECK(store->AllSlices() == std::vector<std::pair<int64_t, SliceStats>>{
                                  {1, {1, 1, 0}}, {2, {1, 0, 1}}, {3, {2, 1, 1}}});
  CHECK(store->StoredKeyId() == "kid");
  // Marks were persisted: the next seq continues, a retry is a duplicate.
  std::vector<BatchEvent> events = {Click(1, 1), Impression(2, 2), Click(3, 3)};
  auto retry = store->ApplyBatch("s", 1, "kid", events);
  REQUIRE(retry.ok());
  CHECK(retry->duplicates == 3);
  auto gap = store->ApplyBatch("s", 5, "kid", events);
  REQUIRE(gap.ok());
  CHECK(gap->verdict == BatchVerdict::kGap);
  CHECK(gap->expected_seq == 4);
  // Markers were persisted: a known user is not new again.
  std::vector<BatchEvent> known = {Click(1, 1)};
  REQUIRE(store->ApplyBatch("s", 4, "kid", known).ok());
  CHECK(store->StatsFor(1) == SliceStats{1, 2, 0});
}

TEST_CASE("single events count like batch events", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  auto first = store->ApplySingle(5, KeyOf(1), Action::kClick);
  REQUIRE(first.ok());
  CHECK(*first == SliceStats{1, 1, 0});
  auto second = store->ApplySingle(5, KeyOf(1), Action::kImpression);
  REQUIRE(second.ok());
  CHECK(*second == SliceStats{1, 1, 1});
  std::vector<BatchEvent> events = {Click(5, 1)};
  CHECK(store->ApplyBatch(KcStore::kSingleStream, 1, "", events).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("a second open of the same data dir fails clearly", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  auto again = KcStore::Open(dir.path());
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.status().message(), Catch::Contains("already open"));

  // Another process is stopped by Kyoto's file lock. A fresh process (this test
  // binary running the hidden case below), because a forked child would inherit
  // the in-process registry.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("RT_TEST_DIR", dir.path().c_str(), 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execl("/proc/self/exe", "rt_store_tests", "a child process opens RT_TEST_DIR", nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  std::ifstream in(dir.Sub("child-answer.txt"));
  std::string answer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(answer, Catch::Contains("is another worker using data dir"));

  store.reset();
  CHECK(KcStore::Open(dir.path()).ok());  // released on close
}

// Run by the test above in a separate process; hidden from normal runs.
TEST_CASE("a child process opens RT_TEST_DIR", "[.][store]") {
  const char* dir = getenv("RT_TEST_DIR");
  REQUIRE(dir != nullptr);
  auto store = KcStore::Open(dir);
  std::ofstream(std::string(dir) + "/child-answer.txt")
      << (store.ok() ? "opened" : store.status().message());
}

TEST_CASE("a commit survives a killed process without fsync", "[store]") {
  TempDir dir;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto store = KcStore::Open(dir.path());
    if (!store.ok()) _exit(3);
    std::vector<BatchEvent> events;
    for (uint32_t u = 0; u < 1000; ++u) events.push_back(Click(9, u % 600));
    if (!(*store)->ApplyBatch("s", 1, "kid", events).ok()) _exit(4);
    raise(SIGKILL);  // no close, no sync
    _exit(5);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  auto store = OpenOrDie(dir.path());
  CHECK(store->StatsFor(9) == SliceStats{600, 1000, 0});
  std::vector<BatchEvent> retry = {Click(9, 1)};
  CHECK(store->ApplyBatch("s", 1000, "kid", retry)->duplicates == 1);
}

TEST_CASE("fsync mode replays logged batches exactly once", "[store]") {
  TempDir dir;
  // A crash after the log's fsync but before Kyoto kept the batch: the log has it,
  // the database does not.
  {
    auto log = BatchLog::Open(dir.Sub("batches.log"));
    REQUIRE(log.ok());
    (*log)->Append({"s", 1, "kid", {Click(1, 1), Click(1, 2)}});
    (*log)->Append({"s", 3, "kid", {Impression(1, 1)}});
    (*log)->Append({std::string(KcStore::kSingleStream), 1, "", {Click(2, 9)}});
    REQUIRE((*log)->Flush().ok());
  }
  KcStoreOptions fsync;
  fsync.fsync = true;
  {
    auto store = OpenOrDie(dir.path(), fsync);
    CHECK(store->StatsFor(1) == SliceStats{2, 2, 1});
    CHECK(store->StatsFor(2) == SliceStats{1, 1, 0});
    CHECK(store->StoredKeyId() == "kid");
    // A group written as the writer does (planned, logged, applied), then reopened:
    // its record is replayed over the batch Kyoto holds, with no effect.
    BatchRequest request{"s", 4, "kid", {Click(1, 3)}};
    KcStore::GroupWrite writes[1];
    writes[0].batch = &request;
    REQUIRE(store->WriteGroup(writes).ok());
    REQUIRE(writes[0].outcome.ok());
    CHECK(writes[0].outcome->applied == 1);
    CHECK(std::filesystem::file_size(dir.Sub("batches.log")) > 0);
  }
  auto store = OpenOrDie(dir.path(), fsync);
  CHECK(store->StatsFor(1) == SliceStats{3, 3, 1});
  CHECK(store->StatsFor(2) == SliceStats{1, 1, 0});
}

TEST_CASE("a torn batch log tail is dropped", "[store]") {
  TempDir dir;
  {
    auto log = BatchLog::Open(dir.Sub("batches.log"));
    REQUIRE(log.ok());
    (*log)->Append({"s", 1, "kid", {Click(1, 1)}});
    (*log)->Append({"s", 2, "kid", {Click(1, 2)}});
    REQUIRE((*log)->Flush().ok());
  }
  // Cut the second record in half.
  std::filesystem::resize_file(dir.Sub("batches.log"),
                               std::filesystem::file_size(dir.Sub("batches.log")) - 20);
  auto log = BatchLog::Open(dir.Sub("batches.log"));
  REQUIRE(log.ok());
  auto contents = (*log)->ReadAll();
  REQUIRE(contents.ok());
  const std::vector<BatchRequest>& batches = contents->batches;
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].stream == "s");
  CHECK(batches[0].first_seq == 1);
  CHECK(batches[0].events == std::vector<BatchEvent>{Click(1, 1)});
  CHECK(contents->torn_tail_bytes > 0);
}

}  // namespace
}  // namespace rt
