// Per-period files, sealing, retention and the migration of a single-file data dir
// (docs/design.md §7 "Store records"), checked against an exact oracle.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/store/kc_store.h"
#include "server/store/period_file.h"
#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

using testing::KeyOf;
using testing::OpenOrDie;
using testing::TempDir;

// Exact per-slice counts of the events it was shown.
class Oracle {
 public:
  void Add(const BatchEvent& e, uint32_t user) {
    SliceStats& s = slices_[e.slice];
    if (seen_.emplace(e.slice, user).second) ++s.unique_users;
    ++(e.action == Action::kClick ? s.clicks : s.impressions);
  }
  std::vector<std::pair<int64_t, SliceStats>> All() const {
    return {slices_.begin(), slices_.end()};
  }

 private:
  std::map<int64_t, SliceStats> slices_;
  std::set<std::pair<int64_t, uint32_t>> seen_;
};

KcStoreOptions Periods(int64_t period_slices) {
  KcStoreOptions options;
  options.period_slices = period_slices;
  options.reserve_step_bytes = 1 << 20;
  return options;
}

size_t PeriodFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name[0] == 'p' && name.ends_with(".kch")) ++n;
  }
  return n;
}

TEST_CASE("events go to one Kyoto file per period of slices", "[store][periods]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), Periods(4));
  const std::vector<BatchEvent> events = {{0, KeyOf(1), Action::kClick},
                                          {3, KeyOf(1), Action::kClick},
                                          {4, KeyOf(1), Action::kImpression},
                                          {9, KeyOf(2), Action::kClick}};
  REQUIRE(store->ApplyBatch("s", 1, "kid", events).ok());
  CHECK(std::filesystem::exists(dir.Sub("p0.kch")));
  CHECK(std::filesystem::exists(dir.Sub("p1.kch")));
  CHECK(std::filesystem::exists(dir.Sub("p2.kch")));
  CHECK(store->OpenPeriods() == 3);
  CHECK(store->StoredMark("s").value() == 4);
  store.reset();
  store = OpenOrDie(dir.path(), Periods(8));  // the period length stays what it was
  CHECK(store->period_slices() == 4);
  CHECK(store->AllSlices() == std::vector<std::pair<int64_t, SliceStats>>{
                                  {0, {1, 1, 0}}, {3, {1, 1, 0}}, {4, {1, 0, 1}}, {9, {1, 1, 0}}});
  CHECK(store->StoredMark("s").value() == 4);
}

TEST_CASE(
    "a batch spanning two files whose second commit failed is completed by the retry, "
    "neither lost nor doubled",
    "[store][periods]") {
  TempDir dir;
  KcStoreOptions options = Periods(4);
  bool fail_second = true;
  options.fail_commit = [&](const std::string& path) {
    return fail_second && path.ends_with("/p1.kch");
  };
  auto store = OpenOrDie(dir.path(), options);
  const std::vector<BatchEvent> events = {{3, KeyOf(1), Action::kClick},
                                          {4, KeyOf(1), Action::kClick},
                                          {3, KeyOf(2), Action::kImpression},
                                          {5, KeyOf(2), Action::kClick}};
  auto failed = store->ApplyBatch("s", 1, "kid", events);
  REQUIRE_FALSE(failed.ok());
  // p0's share is committed (it is the state a crash between the two commits leaves);
  // the stream's mark did not move, so the sender resends the batch.
  CHECK(store->StatsFor(3) == SliceStats{2, 1, 1});
  CHECK(store->StatsFor(4) == SliceStats{});
  CHECK(store->StoredMark("s").value() == 0);
  fail_second = false;
  store.reset();  // and a restart in between
  store = OpenOrDie(dir.path(), options);
  CHECK(store->StoredMark("s").value() == 0);
  auto retry = store->ApplyBatch("s", 1, "kid", events);
  REQUIRE(retry.ok());
  CHECK(retry->acked_seq == 4);
  CHECK(store->StatsFor(3) == SliceStats{2, 1, 1});  // not doubled
  CHECK(store->StatsFor(4) == SliceStats{1, 1, 0});  // not lost
  CHECK(store->StatsFor(5) == SliceStats{1, 1, 0});
  auto again = store->ApplyBatch("s", 1, "kid", events);  // a later retry is a duplicate
  REQUIRE(again.ok());
  CHECK(again->duplicates == 4);
  CHECK(store->StatsFor(3) == SliceStats{2, 1, 1});
}

TEST_CASE("sealing keeps every slice's counts exact and deletes the sealed periods' files",
          "[store][periods][seal]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), Periods(3));
  Oracle oracle;
  std::mt19937 rng(7);
  uint64_t seq = 1;
  // 24 slices, each with its users and a few late events of the slice before.
  for (int64_t hour = 0; hour < 24; ++hour) {
    std::vector<BatchEvent> batch;
    for (int i = 0; i < 200; ++i) {
      const int64_t slice = hour > 0 && rng() % 20 == 0 ? hour - 1 : hour;
      const uint32_t user = rng() % 120;
      const BatchEvent e{slice, KeyOf(user), rng() % 3 == 0 ? Action::kClick : Action::kImpression};
      batch.push_back(e);
      oracle.Add(e, user);
    }
    REQUIRE(store->ApplyBatch("s", seq, "kid", batch).ok());
    seq += batch.size();
    // Slices more than 4 old are sealed as the hours pass.
    REQUIRE(store->Seal(hour - 4).ok());
  }
  CHECK(store->AllSlices() == oracle.All());
  // Sealed below 19: periods 0..5 (slices 0..17) are gone; 6 (18..20) and 7 are open.
  CHECK(store->SealedBefore() == 19);
  CHECK(PeriodFiles(dir.path()) == 2);
  CHECK(store->OpenPeriods() == 2);

  // A late event of a sealed slice is skipped and counted as such, nothing changes.
  const std::vector<BatchEvent> late = {{2, KeyOf(999), Action::kClick},
                                        {23, KeyOf(999), Action::kClick}};
  auto outcome = store->ApplyBatch("s", seq, "kid", late);
  REQUIRE(outcome.ok());
  CHECK(outcome->sealed == 1);
  CHECK(outcome->applied == 1);
  oracle.Add(late[1], 999);
  CHECK(store->AllSlices() == oracle.All());
  seq += late.size();

  // Across a restart: the summary store and the open files give the same counts,
  // and the stream's mark survives its files being sealed.
  store.reset();
  store = OpenOrDie(dir.path(), Periods(3));
  CHECK(store->AllSlices() == oracle.All());
  CHECK(store->StoredMark("s").value() == seq - 1);
  CHECK(store->SealedBefore() == 19);
  // Sealing everything leaves only the summary store.
  REQUIRE(store->Seal(1000).ok());
  CHECK(PeriodFiles(dir.path()) == 0);
  store.reset();
  store = OpenOrDie(dir.path(), Periods(3));
  CHECK(store->AllSlices() == oracle.All());
  CHECK(store->StoredMark("s").value() == seq - 1);
}

TEST_CASE("a batch whose every event is sealed still moves the stream's mark",
          "[store][periods][seal]") {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), Periods(2));
  REQUIRE(store->ApplyBatch("s", 1, "kid", std::vector<BatchEvent>{{0, KeyOf(1), Action::kClick}})
              .ok());
  REQUIRE(store->Seal(10).ok());
  auto outcome =
      store->ApplyBatch("s", 2, "kid", std::vector<BatchEvent>{{1, KeyOf(2), Action::kClick}});
  REQUIRE(outcome.ok());
  CHECK(outcome->sealed == 1);
  CHECK(outcome->acked_seq == 2);
  store.reset();
  store = OpenOrDie(dir.path(), Periods(2));
  CHECK(store->StoredMark("s").value() == 2);
  CHECK(store->StatsFor(0) == SliceStats{1, 1, 0});
  CHECK(store->StatsFor(1) == SliceStats{});
}

TEST_CASE("the clock seals and retains on its own", "[store][periods][seal]") {
  TempDir dir;
  int64_t now = 0;
  KcStoreOptions options = Periods(2);
  options.current_slice = [&now] { return now; };
  options.seal_after_slices = 3;
  options.retain_slices = 6;
  auto store = OpenOrDie(dir.path(), options);
  uint64_t seq = 1;
  for (now = 0; now < 12; ++now) {
    const std::vector<BatchEvent> events = {{now, KeyOf(1), Action::kClick},
                                            {now, KeyOf(2), Action::kClick}};
    REQUIRE(store->ApplyBatch("s", seq, "kid", events).ok());
    seq += 2;
  }
  // now = 11 at the last batch: sealed below 8, retained from 5.
  CHECK(store->SealedBefore() == 8);
  const auto slices = store->AllSlices();
  REQUIRE(!slices.empty());
  CHECK(slices.front().first == 5);
  CHECK(slices.size() == 7);
  for (const auto& [slice, stats] : slices) CHECK(stats == SliceStats{2, 2, 0});
  CHECK(PeriodFiles(dir.path()) == 2);  // periods 4 (8, 9) and 5 (10, 11)
  now = 11;                             // Open seals and drops too: the same clock, the same state
  store.reset();
  store = OpenOrDie(dir.path(), options);
  CHECK(store->AllSlices() == slices);
}

TEST_CASE("a single-file data dir of an earlier version opens as a legacy period",
          "[store][periods][migration]") {
  TempDir dir;
  // rt.kch as earlier versions wrote it: markers, counters, directory, marks.
  {
    PeriodFile::Tuning tuning;
    tuning.buckets = 1 << 12;
    tuning.map_bytes = 1 << 20;
    tuning.reserve_step_bytes = 1 << 20;
    auto legacy = PeriodFile::Open(dir.Sub("rt.kch"), tuning);
    REQUIRE(legacy.ok());
    const std::vector<BatchEvent> events = {{1, KeyOf(1), Action::kClick},
                                            {9, KeyOf(1), Action::kClick},
                                            {9, KeyOf(2), Action::kImpression}};
    const std::map<int64_t, SliceStats> none;
    REQUIRE((*legacy)->Commit("old", events, 3, true, {none}).ok());
  }
  auto store = OpenOrDie(dir.path(), Periods(4));
  CHECK(store->OpenPeriods() == 1);
  CHECK(store->StoredMark("old").value() == 3);
  CHECK(store->StatsFor(9) == SliceStats{2, 1, 1});
  // A late event of a legacy slice goes to rt.kch (uniqueness stays exact), a new
  // slice of the same period to the period's file.
  const std::vector<BatchEvent> more = {
      {9, KeyOf(1), Action::kClick}, {9, KeyOf(3), Action::kClick}, {10, KeyOf(1), Action::kClick}};
  REQUIRE(store->ApplyBatch("old", 4, "kid", more).ok());
  CHECK(store->StatsFor(9) == SliceStats{3, 3, 1});
  CHECK(store->StatsFor(10) == SliceStats{1, 1, 0});
  CHECK(std::filesystem::exists(dir.Sub("p2.kch")));
  store.reset();
  store = OpenOrDie(dir.path(), Periods(4));
  CHECK(store->StatsFor(9) == SliceStats{3, 3, 1});
  CHECK(store->StoredMark("old").value() == 6);
  // Sealed like any period once all its slices are past the horizon.
  REQUIRE(store->Seal(10).ok());
  CHECK_FALSE(std::filesystem::exists(dir.Sub("rt.kch")));
  store.reset();
  store = OpenOrDie(dir.path(), Periods(4));
  CHECK(store->AllSlices() == std::vector<std::pair<int64_t, SliceStats>>{
                                  {1, {1, 1, 0}}, {9, {3, 3, 1}}, {10, {1, 1, 0}}});
  CHECK(store->StoredMark("old").value() == 6);
}

TEST_CASE("an idle period file is closed, answers from memory, and reopens for its next event",
          "[store][periods]") {
  TempDir dir;
  KcStoreOptions options = Periods(4);
  options.close_idle_after = std::chrono::milliseconds(0);
  auto store = OpenOrDie(dir.path(), options);
  Oracle oracle;
  uint64_t seq = 1;
  const auto apply = [&](int64_t slice, uint32_t first, uint32_t count) {
    std::vector<BatchEvent> events;
    for (uint32_t u = first; u < first + count; ++u) {
      events.push_back({slice, KeyOf(u), u % 3 == 0 ? Action::kClick : Action::kImpression});
      oracle.Add(events.back(), u);
    }
    REQUIRE(store->ApplyBatch("s", seq, "kid", events).ok());
    seq += count;
  };
  apply(0, 0, 40);
  CHECK(store->IdleClosedFiles() == 0);
  apply(5, 0, 20);  // period 1; period 0's file is closed first
  CHECK(store->IdleClosedFiles() == 1);
  CHECK(store->OpenPeriods() == 2);
  CHECK(store->StoredMark("s").value() == 60);  // read while period 0's file is closed
  CHECK(store->SizeBytes() > 0);
  apply(1, 20, 10);  // period 0 again: reopened (and period 1's closed)
  apply(0, 30, 20);  // 10 known users, 10 new
  CHECK(store->IdleClosedFiles() == 1);
  CHECK(store->AllSlices() == oracle.All());
  REQUIRE(store->Sync().ok());  // a closed file is synced too
  store.reset();
  store = OpenOrDie(dir.path(), Periods(4));
  CHECK_FALSE(store->start_report().repaired());
  CHECK(store->AllSlices() == oracle.All());
  CHECK(store->StoredMark("s").value() == 90);
}

}  // namespace
}  // namespace rt
