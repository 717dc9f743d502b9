#include "config/safe_change.h"

#include <catch2/catch.hpp>

#include "config/replica_set.h"

namespace rt {
namespace {

constexpr int64_t kFirst = 1577836800;  // 2020-01-01T00:00:00

ClusterConfig BaseConfig() {
  ClusterConfig config;
  config.worker_nodes = {
      {"0", "http://h:9000/worker"}, {"1", "http://h:9001/worker"}, {"2", "http://h:9002/worker"}};
  config.first_slice_s = kFirst;
  config.slice_length_s = 3600;
  config.max_future_s = 300;
  config.reload_interval_s = 30;
  config.routing = {{0, SetsOfOne({"0", "1"})}};
  return config;
}

// Epoch ms of `seconds` into slice `slice` of BaseConfig.
int64_t NowMs(int64_t slice, int64_t seconds = 0) {
  return (kFirst + slice * 3600 + seconds) * 1000;
}

}  // namespace

TEST_CASE("an identical config is a safe change", "[config][safe]") {
  CHECK(CheckSafeChange(BaseConfig(), BaseConfig(), NowMs(10)).empty());
}

TEST_CASE("the protected horizon is the slice of now + max-future + reload", "[config][safe]") {
  ClusterConfig old_config = BaseConfig();
  CHECK(ProtectedHorizonSlice(old_config, old_config, NowMs(10)) == 10);
  // 330 s before the end of slice 10 still reaches slice 11.
  CHECK(ProtectedHorizonSlice(old_config, old_config, NowMs(10, 3600 - 330)) == 11);
  CHECK(ProtectedHorizonSlice(old_config, old_config, NowMs(10, 3600 - 331)) == 10);
  // The larger of the old and new values counts.
  ClusterConfig new_config = BaseConfig();
  new_config.max_future_s = 7200;
  CHECK(ProtectedHorizonSlice(old_config, new_config, NowMs(10)) == 12);
  CHECK(ProtectedHorizonSlice(new_config, old_config, NowMs(10)) == 12);
  // Before the first slice nothing is protected.
  CHECK(ProtectedHorizonSlice(old_config, old_config, (kFirst - 1000) * 1000) == -1);
}

TEST_CASE("adding workers for a future slice is safe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing.push_back({12, SetsOfOne({"0", "1", "2"})});
  CHECK(CheckSafeChange(BaseConfig(), new_config, NowMs(10)).empty());
}

TEST_CASE("changing the workers of a current or past slice is unsafe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing.push_back({5, SetsOfOne({"0", "1", "2"})});
  const std::vector<UnsafeChange> changes = CheckSafeChange(BaseConfig(), new_config, NowMs(10));
  REQUIRE(changes.size() == 1);
  const UnsafeChange& change = changes[0];
  CHECK(change.kind == UnsafeChange::Kind::kRouting);
  CHECK(change.first_slice == 5);
  CHECK(change.last_slice == 10);
  CHECK(change.old_nodes == SetsOfOne({"0", "1"}));
  CHECK(change.new_nodes == SetsOfOne({"0", "1", "2"}));
  CHECK(change.safe_from_slice == 11);
  CHECK(change.message ==
        "slices 5..10: routing changes from [0, 1] to [0, 1, 2] (safe only from slice 11)");
}

TEST_CASE("a change landing in the slice reached before reload is unsafe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing.push_back({11, SetsOfOne({"2"})});
  CHECK(CheckSafeChange(BaseConfig(), new_config, NowMs(10)).empty());
  const std::vector<UnsafeChange> changes =
      CheckSafeChange(BaseConfig(), new_config, NowMs(10, 3600 - 100));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].first_slice == 11);
  CHECK(changes[0].last_slice == 11);
  CHECK(changes[0].safe_from_slice == 12);
}

TEST_CASE("reordering a node list is unsafe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing[0].nodes = SetsOfOne({"1", "0"});
  const std::vector<UnsafeChange> changes = CheckSafeChange(BaseConfig(), new_config, NowMs(3));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].first_slice == 0);
  CHECK(changes[0].last_slice == 3);
}

TEST_CASE("removing the routing of slices that had workers is unsafe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing[0].slice = 2;
  const std::vector<UnsafeChange> changes = CheckSafeChange(BaseConfig(), new_config, NowMs(3));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].first_slice == 0);
  CHECK(changes[0].last_slice == 1);
  CHECK_FALSE(changes[0].new_nodes.has_value());
  CHECK_THAT(changes[0].message, Catch::Contains("to none"));
}

TEST_CASE("giving workers to slices that had none is safe", "[config][safe]") {
  ClusterConfig old_config = BaseConfig();
  old_config.routing[0].slice = 5;
  ClusterConfig new_config = BaseConfig();
  new_config.routing = {{2, SetsOfOne({"2"})}, {5, SetsOfOne({"0", "1"})}};
  CHECK(CheckSafeChange(old_config, new_config, NowMs(8)).empty());
}

TEST_CASE("separate unsafe ranges are reported separately", "[config][safe]") {
  ClusterConfig old_config = BaseConfig();
  old_config.routing = {{0, SetsOfOne({"0"})}, {2, SetsOfOne({"1"})}, {4, SetsOfOne({"2"})}};
  ClusterConfig new_config = BaseConfig();
  new_config.routing = {{0, SetsOfOne({"1"})}, {2, SetsOfOne({"1"})}, {4, SetsOfOne({"0"})}};
  const std::vector<UnsafeChange> changes = CheckSafeChange(old_config, new_config, NowMs(6));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].first_slice == 0);
  CHECK(changes[0].last_slice == 1);
  CHECK(changes[1].first_slice == 4);
  CHECK(changes[1].last_slice == 6);
}

TEST_CASE("slice length, first slice and timestamp unit must never change", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.slice_length_s = 60;
  std::vector<UnsafeChange> changes = CheckSafeChange(BaseConfig(), new_config, NowMs(1));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == UnsafeChange::Kind::kSliceLength);
  CHECK_FALSE(changes[0].safe_from_slice.has_value());

  new_config = BaseConfig();
  new_config.first_slice_s += 3600;
  changes = CheckSafeChange(BaseConfig(), new_config, NowMs(1));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == UnsafeChange::Kind::kFirstSlice);
  CHECK_THAT(changes[0].message, Catch::Contains("2020-01-01T01:00:00"));

  new_config = BaseConfig();
  new_config.timestamp_unit = TimestampUnit::kSeconds;
  changes = CheckSafeChange(BaseConfig(), new_config, NowMs(1));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == UnsafeChange::Kind::kTimestampUnit);

  // Even far in the future of the first slice, before any data can exist.
  changes = CheckSafeChange(BaseConfig(), new_config, (kFirst - 86400) * 1000);
  CHECK(changes.size() == 1);
}

TEST_CASE("changes to other keys are safe", "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.cache_ttl_ms = 5;
  new_config.max_late_slices = 3;
  new_config.api_nodes["7"] = "http://h:8007/analytics";
  new_config.worker_nodes["9"] = "http://h:9009/worker";
  CHECK(CheckSafeChange(BaseConfig(), new_config, NowMs(4)).empty());
}

}  // namespace rt

namespace rt {

TEST_CASE("slices a worker already holds stay fixed beyond the two configs' horizon",
          "[config][safe]") {
  ClusterConfig new_config = BaseConfig();
  new_config.routing.push_back({14, SetsOfOne({"1", "0"})});
  CHECK(CheckSafeChange(BaseConfig(), new_config, NowMs(10)).empty());

  SafeChangeContext context;
  context.held_through_slice = 14;
  CHECK(ProtectedSlice(BaseConfig(), new_config, NowMs(10), context) == 14);
  const std::vector<UnsafeChange> changes =
      CheckSafeChange(BaseConfig(), new_config, NowMs(10), context);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].first_slice == 14);
  CHECK(changes[0].last_slice == 14);
  CHECK(changes[0].safe_from_slice == 15);
  CHECK(changes[0].message ==
        "slice 14: routing changes from [0, 1] to [1, 0] (safe only from slice 15)");
}

TEST_CASE("the horizon of an earlier config is remembered after max-future-s shrinks",
          "[config][safe]") {
  // The sequence at the config level: max-future-s 7200 let events into slice
  // 12; a config lowering it to 5 s was applied; a later re-route of slice 12 compared
  // with that config alone looks safe, but not with the remembered horizon.
  ClusterConfig lowered = BaseConfig();
  lowered.max_future_s = 5;
  lowered.reload_interval_s = 1;
  ClusterConfig rerouted = lowered;
  rerouted.routing.push_back({12, SetsOfOne({"1", "0"})});
  CHECK(CheckSafeChange(lowered, rerouted, NowMs(10)).empty());

  ClusterConfig earlier = BaseConfig();
  earlier.max_future_s = 7200;
  SafeChangeContext context;
  context.remembered_horizon_slice = ProtectedHorizonSlice(earlier, earlier, NowMs(10));
  CHECK(*context.remembered_horizon_slice == 12);
  const std::vector<UnsafeChange> changes = CheckSafeChange(lowered, rerouted, NowMs(10), context);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].first_slice == 12);
  CHECK(changes[0].safe_from_slice == 13);
  rerouted.routing.back().slice = 13;
  CHECK(CheckSafeChange(lowered, rerouted, NowMs(10), context).empty());
}

TEST_CASE("the protected slice is the largest of the horizon and the context's slices",
          "[config][safe]") {
  SafeChangeContext context;
  CHECK(ProtectedSlice(BaseConfig(), BaseConfig(), NowMs(10), context) == 10);
  context.held_through_slice = 3;  // below the horizon: no effect
  context.remembered_horizon_slice = 9;
  CHECK(ProtectedSlice(BaseConfig(), BaseConfig(), NowMs(10), context) == 10);
  context.remembered_horizon_slice = 20;
  CHECK(ProtectedSlice(BaseConfig(), BaseConfig(), NowMs(10), context) == 20);
  // Before the first slice the horizon is -1, but held data still counts.
  SafeChangeContext held;
  held.held_through_slice = 2;
  CHECK(ProtectedSlice(BaseConfig(), BaseConfig(), (kFirst - 7200) * 1000, held) == 2);
}

}  // namespace rt
