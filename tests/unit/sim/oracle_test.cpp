#include "sim/oracle.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace rt {
namespace {

struct TestEvent {
  int64_t slice;
  std::string user;
  Action action;
};

// The events both the oracle and a stand-in for the cluster receive; the cluster's
// view is built by a second Oracle fed through the hook below.
std::vector<TestEvent> SampleEvents() {
  std::vector<TestEvent> events;
  for (int i = 0; i < 200; ++i) {
    events.push_back({i % 3, "user-" + std::to_string(i % 17),
                      i % 4 == 0 ? Action::kClick : Action::kImpression});
  }
  return events;
}

// The test hook: what the cluster would report if it had lost the event at
// `drop` or counted the event at `twice` twice (-1: none).
std::map<int64_t, SliceStats> ClusterView(const std::vector<TestEvent>& events, int drop,
                                          int twice) {
  Oracle cluster;
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    const TestEvent& e = events[static_cast<size_t>(i)];
    if (i == drop) continue;
    cluster.Record(e.slice, e.user, e.action);
    if (i == twice) cluster.Record(e.slice, e.user, e.action);
  }
  return cluster.AllSlices();
}

void Feed(Oracle& oracle, const std::vector<TestEvent>& events) {
  for (const TestEvent& e : events) oracle.Record(e.slice, e.user, e.action);
}

TEST_CASE("the oracle counts distinct users and both actions per slice", "[sim][oracle]") {
  Oracle oracle;
  oracle.Record(5, "alice", Action::kClick);
  oracle.Record(5, "alice", Action::kImpression);
  oracle.Record(5, "bob", Action::kImpression);
  oracle.Record(6, "alice", Action::kClick);
  CHECK(oracle.StatsFor(5) == SliceStats{2, 1, 2});
  CHECK(oracle.StatsFor(6) == SliceStats{1, 1, 0});
  CHECK(oracle.StatsFor(7) == SliceStats{});
  CHECK(oracle.events() == 4);
  CHECK(oracle.AllSlices().size() == 2);
}

TEST_CASE("the comparison agrees with a cluster that counted every event once", "[sim][oracle]") {
  const auto events = SampleEvents();
  Oracle oracle;
  Feed(oracle, events);
  CHECK(oracle.Compare(ClusterView(events, -1, -1)).empty());
}

TEST_CASE("the comparison catches a deliberately dropped event", "[sim][oracle]") {
  const auto events = SampleEvents();
  Oracle oracle;
  Feed(oracle, events);
  const int dropped = 41;  // slice 2, a user with other events there: only a counter moves
  const auto mismatches = oracle.Compare(ClusterView(events, dropped, -1));
  REQUIRE(mismatches.size() == 1);
  CHECK(mismatches[0].slice == events[dropped].slice);
  REQUIRE(mismatches[0].actual);
  CHECK(mismatches[0].actual->impressions + 1 == mismatches[0].expected.impressions);
  CHECK(mismatches[0].actual->unique_users == mismatches[0].expected.unique_users);
  CHECK(mismatches[0].Describe() ==
        "slice 2: impressions " + std::to_string(mismatches[0].expected.impressions) +
            " != " + std::to_string(mismatches[0].actual->impressions) + " (oracle != cluster)");
}

TEST_CASE("the comparison catches a deliberately doubled event", "[sim][oracle]") {
  const auto events = SampleEvents();
  Oracle oracle;
  Feed(oracle, events);
  const int doubled = 0;  // a click in slice 0
  const auto mismatches = oracle.Compare(ClusterView(events, -1, doubled));
  REQUIRE(mismatches.size() == 1);
  CHECK(mismatches[0].slice == 0);
  REQUIRE(mismatches[0].actual);
  CHECK(mismatches[0].actual->clicks == mismatches[0].expected.clicks + 1);
}

TEST_CASE("the comparison catches a missing slice and an unknown one", "[sim][oracle]") {
  Oracle oracle;
  oracle.Record(1, "alice", Action::kClick);
  std::map<int64_t, SliceStats> cluster = {{2, SliceStats{1, 0, 1}}};
  const auto mismatches = oracle.Compare(cluster);
  REQUIRE(mismatches.size() == 2);
  CHECK(mismatches[0].slice == 1);
  CHECK_FALSE(mismatches[0].actual);
  CHECK(mismatches[0].Describe().find("missing in the cluster") != std::string::npos);
  CHECK(mismatches[1].slice == 2);
  CHECK(mismatches[1].expected == SliceStats{});

  // A slice the cluster reports with zeros is not a mismatch.
  cluster = {{1, SliceStats{1, 1, 0}}, {9, SliceStats{}}};
  CHECK(oracle.Compare(cluster).empty());
}

TEST_CASE("a user split across two workers shows as an extra unique user", "[sim][oracle]") {
  Oracle oracle;
  oracle.Record(3, "alice", Action::kClick);
  oracle.Record(3, "alice", Action::kImpression);
  // Two workers each counting alice once: the sum says two users.
  const std::map<int64_t, SliceStats> cluster = {{3, SliceStats{1, 1, 0} + SliceStats{1, 0, 1}}};
  const auto mismatches = oracle.Compare(cluster);
  REQUIRE(mismatches.size() == 1);
  CHECK(mismatches[0].Describe() == "slice 3: unique_users 1 != 2 (oracle != cluster)");
}

}  // namespace
}  // namespace rt
