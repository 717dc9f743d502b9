// GET /analytics/allslices from the workers' answers with replica sets
// (docs/design.md §14 "Replica sets", Read path).
#include <catch2/catch.hpp>

#include "config/replica_set.h"
#include "server/api/slice_fetcher.h"

namespace rt {
namespace {

ClusterConfig Config() {
  ClusterConfig config;
  config.worker_nodes = {{"0", "http://127.0.0.1:1/worker"},
                         {"1", "http://127.0.0.1:2/worker"},
                         {"2", "http://127.0.0.1:3/worker"}};
  config.routing = {{0, {{"0", "1"}, {"2"}}}};
  return config;
}

WorkerSlices Answer(std::map<int64_t, SliceStats> slices,
                    std::vector<std::pair<std::string, uint64_t>> marks) {
  return WorkerSlices{std::move(slices), std::move(marks), 0};
}

}  // namespace

TEST_CASE("allslices counts a replica set once, from its freshest member", "[api][replica]") {
  const ClusterConfig config = Config();
  const std::string stream = "a:1@" + SetTag({"0", "1"});
  std::map<std::string, WorkerSlices> answers;
  answers["0"] = Answer({{5, SliceStats{1, 1, 0}}}, {{stream, 1}});
  answers["1"] = Answer({{5, SliceStats{2, 1, 1}}, {6, SliceStats{1, 0, 1}}}, {{stream, 3}});
  answers["2"] = Answer({{5, SliceStats{4, 4, 0}}}, {{"a:1", 9}});
  Result<std::map<int64_t, SliceStats>> merged = MergeWorkerSlices(config, answers, {});
  REQUIRE(merged.ok());
  CHECK(merged->at(5) == SliceStats{6, 5, 1});
  CHECK(merged->at(6) == SliceStats{1, 0, 1});

  // A member down: the other answers for the set.
  answers.erase("1");
  merged = MergeWorkerSlices(config, answers, {{"1", "worker 1 (x) did not answer: refused"}});
  REQUIRE(merged.ok());
  CHECK(merged->at(5) == SliceStats{5, 5, 0});
  CHECK(merged->count(6) == 0);

  // Both down: a 503 naming the set and each member's reason.
  answers.erase("0");
  Result<std::map<int64_t, SliceStats>> failed = MergeWorkerSlices(
      config, answers, {{"0", "worker 0 (x) answered 503: stale"}, {"1", "worker 1 (y) down"}});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message() ==
        "replica set 0+1 has no member that answers: worker 0 (x) answered 503: stale; "
        "worker 1 (y) down");

  // A set of one down fails the read with its worker's reason, as before sets.
  answers["0"] = Answer({}, {});
  answers.erase("2");
  failed = MergeWorkerSlices(config, answers, {{"2", "worker 2 (z) down"}});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message() == "worker 2 (z) down");
}

TEST_CASE("allslices parses a worker's marks and seal horizon", "[api][replica]") {
  Result<WorkerSlices> parsed = ParseWorkerSlicesWithMarks(
      R"({"sealed_before":4,"marks":{"b@t":2,"a@t":1},"slices":[{"slice":3,"unique_users":1,)"
      R"("clicks":1,"impressions":0}]})");
  REQUIRE(parsed.ok());
  CHECK(parsed->sealed_before == 4);
  REQUIRE(parsed->marks.size() == 2);
  CHECK(parsed->marks[0].first == "a@t");
  CHECK(parsed->slices.at(3) == SliceStats{1, 1, 0});
  // An older worker without marks.
  parsed = ParseWorkerSlicesWithMarks(R"({"slices":[]})");
  REQUIRE(parsed.ok());
  CHECK(parsed->marks.empty());
  CHECK_FALSE(ParseWorkerSlicesWithMarks(R"({"marks":{"a":"x"},"slices":[]})").ok());
}

}  // namespace rt
