// Fsync mode's group commit (issue #16): every batch is planned, logged with the
// totals it leads to, and only then written to Kyoto, so that replaying the log
// after a power loss sets what it logged whatever Kyoto's torn pages kept.
// Real Kyoto files in temp dirs; a torn page is mimicked by editing the records.
#include <kchashdb.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "server/store/batch_log.h"
#include "server/store/kc_counter_io.h"
#include "server/store/kc_records.h"
#include "server/store/kc_store.h"
#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

using testing::KeyOf;
using testing::NewUsers;
using testing::OpenOrDie;
using testing::TempDir;

KcStoreOptions Fsync() {
  KcStoreOptions options;
  options.fsync = true;
  return options;
}

// Writes `batches` (and `singles`) as one group; every write's outcome.
std::vector<Result<BatchOutcome>> WriteAsGroup(KcStore& store,
                                               const std::vector<BatchRequest>& batches,
                                               const std::vector<BatchEvent>& singles = {}) {
  std::vector<KcStore::GroupWrite> writes(batches.size() + singles.size());
  for (size_t i = 0; i < batches.size(); ++i) writes[i].batch = &batches[i];
  for (size_t i = 0; i < singles.size(); ++i) writes[batches.size() + i].single = singles[i];
  const Status s = store.WriteGroup(writes);
  INFO(s.message());
  REQUIRE(s.ok());
  std::vector<Result<BatchOutcome>> outcomes;
  for (KcStore::GroupWrite& write : writes) outcomes.push_back(std::move(write.outcome));
  return outcomes;
}

TEST_CASE("a planned group counts what applying its batches one by one counts",
          "[store][fsync][group]") {
  // Batches of one group see each other before any is in Kyoto: the same stream
  // twice in a row, a user again in a later batch and twice in one batch, a gap, a
  // key mismatch, another stream, and single events.
  const std::vector<BatchRequest> batches = {
      {"a", 1, "kid", NewUsers(4, 0, 10)},
      {"a", 11, "kid", NewUsers(4, 5, 10)},    // users 5-9 seen in the batch before
      {"a", 30, "kid", NewUsers(4, 100, 3)},   // a gap: expects 21
      {"b", 1, "other", NewUsers(4, 200, 3)},  // another key id
      {"b",
       1,
       "kid",
       {{4, KeyOf(3), Action::kImpression},
        {4, KeyOf(300), Action::kClick},
        {4, KeyOf(300), Action::kImpression},
        {11, KeyOf(3), Action::kClick}}},   // a second period file
      {"a", 5, "kid", NewUsers(4, 0, 20)},  // seqs 5-20 seen, 21-24 new
  };
  const std::vector<BatchEvent> singles = {{4, KeyOf(7), Action::kClick},
                                           {4, KeyOf(400), Action::kImpression}};
  TempDir oracle_dir;
  auto oracle = OpenOrDie(oracle_dir.path());
  std::vector<Result<BatchOutcome>> expected;
  for (const BatchRequest& b : batches) expected.push_back(oracle->ApplyBatch(b));
  std::vector<SliceStats> single_stats;
  for (const BatchEvent& e : singles) {
    single_stats.push_back(oracle->ApplySingle(e.slice, e.key, e.action).value());
  }

  TempDir dir;
  auto store = OpenOrDie(dir.path(), Fsync());
  REQUIRE(store->AdoptKeyId("kid").ok());
  REQUIRE(oracle->AdoptKeyId("kid").ok());
  const std::vector<Result<BatchOutcome>> outcomes = WriteAsGroup(*store, batches, singles);
  for (size_t i = 0; i < batches.size(); ++i) {
    INFO("batch " << i);
    REQUIRE(outcomes[i].ok() == expected[i].ok());
    CHECK(outcomes[i]->verdict == expected[i]->verdict);
    CHECK(outcomes[i]->applied == expected[i]->applied);
    CHECK(outcomes[i]->duplicates == expected[i]->duplicates);
    CHECK(outcomes[i]->acked_seq == expected[i]->acked_seq);
    CHECK(outcomes[i]->touched == expected[i]->touched);
  }
  CHECK(outcomes[2]->verdict == BatchVerdict::kGap);
  CHECK(outcomes[2]->expected_seq == 21);
  CHECK(outcomes[3]->verdict == BatchVerdict::kKeyMismatch);
  for (size_t i = 0; i < singles.size(); ++i) {
    REQUIRE(outcomes[batches.size() + i].ok());
    CHECK(outcomes[batches.size() + i]->touched.front().second == single_stats[i]);
  }
  CHECK(store->AllSlices() == oracle->AllSlices());
  CHECK(store->StatsFor(4) == SliceStats{21, 26, 3});

  // Reopened, the log is replayed over what Kyoto holds: nothing changes.
  const auto before = store->AllSlices();
  store.reset();
  store = OpenOrDie(dir.path(), Fsync());
  CHECK(store->start_report().log_batches_replayed == 6);  // 4 batches, 2 singles
  CHECK(store->AllSlices() == before);
  CHECK(store->StoredMark("a").value() == 24);
  CHECK(store->StoredMark("b").value() == 4);
}

// What a power loss can leave in a period file whose pages reached the disk in any
// order (Kyoto writes them through its memory map, unsynced until a checkpoint).
enum class Torn {
  kCounterWithoutMark,    // the second batch's counter landed, its mark did not
  kMarkWithoutCounter,    // its mark landed, its counter did not
  kMarkersWithoutCounter  // its markers landed, neither its counter nor its mark
};

void Tear(const std::string& file, Torn torn, const SliceStats& first_totals) {
  namespace kc = kyotocabinet;
  kc::HashDB db;
  REQUIRE(db.open(file, kc::HashDB::OWRITER));
  char mark[kc_records::kMarkValueSize];
  kc_records::PutLe64(mark, 10);  // the first batch's
  if (torn != Torn::kMarkWithoutCounter) REQUIRE(db.set("ms", 2, mark, sizeof mark));
  if (torn != Torn::kCounterWithoutMark) {
    REQUIRE(kc_records::WriteCounter(db, 4, first_totals));
  }
  REQUIRE(db.close());
}

TEST_CASE("replaying the batch log after a power loss tore Kyoto's pages counts every event once",
          "[store][fsync][group][disk]") {
  const Torn torn =
      GENERATE(Torn::kCounterWithoutMark, Torn::kMarkWithoutCounter, Torn::kMarkersWithoutCounter);
  INFO("torn case " << static_cast<int>(torn));
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path(), Fsync());
    // Two groups (two fsyncs), then the process is gone without a checkpoint: the
    // log holds both batches and Kyoto's files are not synced.
    REQUIRE(WriteAsGroup(*store, {{"s", 1, "kid", NewUsers(4, 0, 10)}})[0].ok());
    REQUIRE(WriteAsGroup(*store, {{"s", 11, "kid", NewUsers(4, 5, 10)}})[0].ok());
    REQUIRE(store->StatsFor(4) == SliceStats{15, 20, 0});
  }
  Tear(dir.Sub("p0.kch"), torn, SliceStats{10, 10, 0});

  // The log's totals are set as they are: replaying through the marks instead
  // would count the second batch twice (a counter without its mark), not at all (a
  // mark without its counter), or without its new users (markers without a
  // counter).
  for (int open = 0; open < 2; ++open) {
    INFO("open " << open);
    auto store = OpenOrDie(dir.path(), Fsync());
    CHECK(store->StatsFor(4) == SliceStats{15, 20, 0});
    CHECK(store->StoredMark("s").value() == 20);
  }
  auto store = OpenOrDie(dir.path(), Fsync());
  // Replayed, Kyoto was made durable and the log emptied.
  CHECK(std::filesystem::file_size(dir.Sub("batches.log")) == 0);
  const std::vector<BatchEvent> resent = NewUsers(4, 5, 10);
  CHECK(store->ApplyBatch("s", 11, "kid", resent)->duplicates == 10);
  CHECK(store->StatsFor(4) == SliceStats{15, 20, 0});
}

TEST_CASE("a logged record's events of slices it has no totals for were sealed: skipped",
          "[store][fsync][group]") {
  TempDir dir;
  // Planned while slice 4 was sealed; a power loss took the seal back (the summary's
  // horizon is synced only when a sealed file is deleted).
  {
    auto log = BatchLog::Open(dir.Sub("batches.log"));
    REQUIRE(log.ok());
    const std::vector<BatchEvent> events = {{4, KeyOf(9), Action::kClick},
                                            {7, KeyOf(9), Action::kClick}};
    const std::vector<SliceTotal> totals = {{7, SliceStats{1, 1, 0}}};
    (*log)->Append("s", 1, "kid", events, totals);
    REQUIRE((*log)->Flush().ok());
  }
  auto store = OpenOrDie(dir.path(), Fsync());
  CHECK(store->StatsFor(4) == SliceStats{});
  CHECK(store->StatsFor(7) == SliceStats{1, 1, 0});
  CHECK(store->StoredMark("s").value() == 2);
}

}  // namespace
}  // namespace rt
