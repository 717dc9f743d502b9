#include "server/store/batch_log.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

using testing::KeyOf;

// A batch as one line, so that whole logs compare with CHECK and print on failure.
std::string Describe(const BatchRequest& batch) {
  std::string text = batch.stream + " " + std::to_string(batch.first_seq) + " " + batch.key_id;
  for (const BatchEvent& event : batch.events) {
    text += " ";
    AppendBatchLine(text, event);
    text.pop_back();  // the line's '\n'
  }
  return text;
}
std::vector<std::string> Describe(const std::vector<BatchRequest>& batches) {
  std::vector<std::string> lines;
  for (const BatchRequest& batch : batches) lines.push_back(Describe(batch));
  return lines;
}

std::unique_ptr<BatchLog> OpenLog(const std::string& path) {
  auto log = BatchLog::Open(path);
  INFO(log.status().message());
  REQUIRE(log.ok());
  return std::move(*log);
}

std::vector<BatchRequest> ReadAllOrDie(BatchLog& log) {
  auto contents = log.ReadAll();
  INFO(contents.status().message());
  REQUIRE(contents.ok());
  return std::move(contents->batches);
}

// Batch `n` of stream `stream`: `size` events from seq 1 + n * size, over slices 7
// and 8 and both actions, with distinct keys from `key_base` on.
BatchRequest MakeBatch(const std::string& stream, uint64_t n, uint32_t size = 3,
                       uint32_t key_base = 0) {
  BatchRequest batch{stream, 1 + n * size, "5e884898", {}};
  for (uint32_t i = 0; i < size; ++i) {
    const auto k = static_cast<uint32_t>(key_base + n * size + i);
    batch.events.push_back({static_cast<int64_t>(7 + k % 2), KeyOf(k),
                            k % 3 == 0 ? Action::kClick : Action::kImpression});
  }
  return batch;
}

uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

void AppendBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

TEST_CASE("a new batch log is created empty and reads back nothing", "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("batches.log");
  auto log = OpenLog(path);
  CHECK(std::filesystem::exists(path));
  CHECK(log->SizeBytes() == 0);
  CHECK(log->path() == path);
  CHECK(ReadAllOrDie(*log).empty());
}

TEST_CASE("appended batches reach the file only at Flush, all of a group at once",
          "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("batches.log");
  auto log = OpenLog(path);
  const std::vector<BatchRequest> group = {MakeBatch("api-0:1", 0), MakeBatch("api-1:9", 0),
                                           MakeBatch("api-0:1", 1)};
  for (const BatchRequest& batch : group) log->Append(batch);
  // Buffered: nothing is on disk (and nothing may be acknowledged) before Flush.
  CHECK(FileSize(path) == 0);
  CHECK(log->SizeBytes() == 0);

  REQUIRE(log->Flush().ok());
  CHECK(FileSize(path) > 0);
  CHECK(log->SizeBytes() == FileSize(path));
  CHECK(Describe(ReadAllOrDie(*log)) == Describe(group));

  // A second Flush with nothing buffered writes nothing.
  const uint64_t size = FileSize(path);
  REQUIRE(log->Flush().ok());
  CHECK(FileSize(path) == size);
}

TEST_CASE("a reopened batch log replays every record in append order, field by field",
          "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("batches.log");
  std::vector<BatchRequest> written;
  {
    auto log = OpenLog(path);
    for (uint64_t n = 0; n < 4; ++n) {
      written.push_back(MakeBatch("api-0:1764290000123", n, static_cast<uint32_t>(1 + n)));
      log->Append(written.back());
      REQUIRE(log->Flush().ok());  // one group per batch
    }
    // Edge cases of the encoding: no events, an empty key id, a long stream name, a
    // large seq and slice.
    BatchRequest odd{std::string(128, 's'), uint64_t{1} << 62, "", {}};
    written.push_back(odd);
    odd.events.push_back({int64_t{1} << 40, KeyOf(0xffffffffu), Action::kImpression});
    odd.first_seq += 1;
    written.push_back(odd);
    log->Append(written[4]);
    log->Append(written[5]);
    REQUIRE(log->Flush().ok());
  }
  auto reopened = OpenLog(path);
  CHECK(reopened->SizeBytes() == FileSize(path));
  const std::vector<BatchRequest> read = ReadAllOrDie(*reopened);
  REQUIRE(read.size() == written.size());
  for (size_t i = 0; i < read.size(); ++i) {
    INFO("record " << i);
    CHECK(read[i].stream == written[i].stream);
    CHECK(read[i].first_seq == written[i].first_seq);
    CHECK(read[i].key_id == written[i].key_id);
    CHECK(read[i].events == written[i].events);
  }
  // Reading does not consume: a second replay sees the same records.
  CHECK(Describe(ReadAllOrDie(*reopened)) == Describe(read));
}

TEST_CASE("a torn or garbled tail is cut off and the complete records before it survive",
          "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("batches.log");
  const std::vector<BatchRequest> kept = {MakeBatch("a", 0), MakeBatch("a", 1)};
  uint64_t good_size = 0;
  {
    auto log = OpenLog(path);
    for (const BatchRequest& batch : kept) log->Append(batch);
    REQUIRE(log->Flush().ok());
    good_size = log->SizeBytes();
    log->Append(MakeBatch("a", 2));
    REQUIRE(log->Flush().ok());
  }
  const uint64_t full_size = FileSize(path);
  const uint64_t record_size = full_size - good_size;

  // Each way a crash or a bad disk can leave the last record.
  const std::string damage =
      GENERATE("cut in the header", "cut in the payload", "a flipped payload byte", "a bad magic",
               "garbage after the records");
  INFO(damage);
  if (damage == "cut in the header") {
    std::filesystem::resize_file(path, good_size + 5);
  } else if (damage == "cut in the payload") {
    std::filesystem::resize_file(path, full_size - 1);
  } else if (damage == "a flipped payload byte" || damage == "a bad magic") {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t at = damage == "a bad magic" ? good_size : good_size + record_size / 2;
    file.seekg(static_cast<std::streamoff>(at));
    const char byte = static_cast<char>(file.get());
    file.seekp(static_cast<std::streamoff>(at));
    file.put(static_cast<char>(byte ^ 0x5a));
  } else {
    std::filesystem::resize_file(path, good_size);
    AppendBytes(path, "RTBL\x10garbage");
  }

  auto log = OpenLog(path);
  CHECK(Describe(ReadAllOrDie(*log)) == Describe(kept));
  // The tail is gone from the file too, so that later appends follow whole records.
  CHECK(FileSize(path) == good_size);
  CHECK(log->SizeBytes() == good_size);
  const BatchRequest next = MakeBatch("a", 2);
  log->Append(next);
  REQUIRE(log->Flush().ok());
  auto reopened = OpenLog(path);
  CHECK(Describe(ReadAllOrDie(*reopened)) ==
        Describe(std::vector<BatchRequest>{kept[0], kept[1], next}));
}

TEST_CASE("Truncate empties the log and drops what was not flushed", "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("batches.log");
  auto log = OpenLog(path);
  log->Append(MakeBatch("a", 0));
  REQUIRE(log->Flush().ok());
  log->Append(MakeBatch("a", 1));  // buffered only
  REQUIRE(log->Truncate().ok());
  CHECK(log->SizeBytes() == 0);
  CHECK(FileSize(path) == 0);
  REQUIRE(log->Flush().ok());
  CHECK(FileSize(path) == 0);
  CHECK(ReadAllOrDie(*log).empty());

  // The log goes on after a truncate.
  log->Append(MakeBatch("a", 2));
  REQUIRE(log->Flush().ok());
  CHECK(Describe(ReadAllOrDie(*OpenLog(path))) ==
        std::vector<std::string>{Describe(MakeBatch("a", 2))});
}

TEST_CASE("opening a batch log in a missing directory fails naming the path",
          "[store][batch_log]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("missing/batches.log");
  auto log = BatchLog::Open(path);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().message().find(path) != std::string::npos);
}

// Replay through the store: records of batches Kyoto already holds, and the same
// record twice, count once, because every record carries its stream and seqs.
TEST_CASE("replaying the batch log into the store is idempotent", "[store][batch_log]") {
  testing::TempDir dir;
  const std::vector<BatchRequest> batches = {MakeBatch("api-0:1", 0), MakeBatch("api-0:1", 1),
                                             MakeBatch("api-1:1", 0, 3, 1000)};
  SliceStats slice7;
  SliceStats slice8;
  {
    auto store = testing::OpenOrDie(dir.path());
    for (const BatchRequest& batch : batches) {
      auto outcome = store->ApplyBatch(batch);
      INFO(outcome.status().message());
      REQUIRE(outcome.ok());
      CHECK(outcome->applied == batch.events.size());
    }
    slice7 = store->StatsFor(7);
    slice8 = store->StatsFor(8);
  }
  REQUIRE(slice7.unique_users + slice8.unique_users == 9);

  // A log as a crash can leave it: every batch again (already applied), the first
  // one twice, and one batch Kyoto never saw.
  const BatchRequest unseen = MakeBatch("api-0:1", 2);
  {
    auto log = OpenLog(dir.Sub("batches.log"));
    for (const BatchRequest& batch : batches) log->Append(batch);
    log->Append(batches[0]);
    log->Append(unseen);
    REQUIRE(log->Flush().ok());
  }
  SliceStats expected7 = slice7;
  SliceStats expected8 = slice8;
  for (const BatchEvent& event : unseen.events) {
    SliceStats& stats = event.slice == 7 ? expected7 : expected8;
    stats.unique_users += 1;
    (event.action == Action::kClick ? stats.clicks : stats.impressions) += 1;
  }
  for (int open = 0; open < 2; ++open) {
    INFO("open " << open);
    auto store = testing::OpenOrDie(dir.path());
    CHECK(store->StatsFor(7) == expected7);
    CHECK(store->StatsFor(8) == expected8);
  }
  // Replayed records are durable in Kyoto, so the store empties the log.
  CHECK(FileSize(dir.Sub("batches.log")) == 0);
}

}  // namespace
}  // namespace rt
