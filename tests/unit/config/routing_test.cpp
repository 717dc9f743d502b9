#include "config/routing.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>

#include "config/replica_set.h"

namespace rt {
namespace {

ClusterConfig ConfigWithRouting(std::vector<RoutingEntry> routing) {
  ClusterConfig config;
  config.worker_nodes = {{"0", "http://h:9000/worker"},
                         {"1", "http://h:9001/worker"},
                         {"2", "http://h:9002/worker"},
                         {"3", "http://h:9003/worker"}};
  config.routing = std::move(routing);
  return config;
}

// splitmix64: a fixed, well-mixed sequence standing in for HMAC-derived hashes.
uint64_t NextHash(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

TEST_CASE("a slice uses the entry with the greatest slice not after it", "[config][routing]") {
  const ClusterConfig config = ConfigWithRouting({{0, SetsOfOne({"0"})},
                                                  {1, SetsOfOne({"0", "1"})},
                                                  {3, SetsOfOne({"0", "1", "2", "3"})},
                                                  {100, SetsOfOne({"0"})}});
  CHECK(*SetsForSlice(config, 0) == SetsOfOne({"0"}));
  CHECK(*SetsForSlice(config, 1) == SetsOfOne({"0", "1"}));
  CHECK(*SetsForSlice(config, 2) == SetsOfOne({"0", "1"}));
  CHECK(*SetsForSlice(config, 3) == SetsOfOne({"0", "1", "2", "3"}));
  CHECK(*SetsForSlice(config, 99) == SetsOfOne({"0", "1", "2", "3"}));
  CHECK(*SetsForSlice(config, 100) == SetsOfOne({"0"}));
  CHECK(*SetsForSlice(config, 1000000000) == SetsOfOne({"0"}));
  CHECK(SetsForSlice(config, -1) == nullptr);
}

TEST_CASE("slices before a first routing entry after slice 0 have no workers",
          "[config][routing]") {
  const ClusterConfig config = ConfigWithRouting({{5, SetsOfOne({"1", "0"})}, {8, {{"2", "3"}}}});
  CHECK(SetsForSlice(config, 0) == nullptr);
  CHECK(SetsForSlice(config, 4) == nullptr);
  REQUIRE(SetsForSlice(config, 5) != nullptr);
  CHECK(*SetsForSlice(config, 5) == SetsOfOne({"1", "0"}));
  CHECK(*SetsForSlice(config, 8) == std::vector<ReplicaSet>{{"2", "3"}});
  const std::vector<RoutingRange> ranges = RoutingRanges(config);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0].first == 5);
  CHECK(ranges[0].last == 7);
  CHECK(ranges[1].first == 8);
  CHECK_FALSE(ranges[1].last.has_value());
}

TEST_CASE("the set of a hash is sets[hash mod size] in list order", "[config][routing]") {
  const std::vector<ReplicaSet> sets = {{"2"}, {"0", "3"}, {"1"}};
  CHECK(SetForHash(sets, 0) == ReplicaSet{"2"});
  CHECK(SetForHash(sets, 1) == ReplicaSet{"0", "3"});
  CHECK(SetForHash(sets, 5) == ReplicaSet{"1"});
  CHECK(SetForHash(sets, UINT64_MAX) == sets[UINT64_MAX % 3]);
}

// The routing of users must not move when configs gain the set shape: for sets of
// one the set's only member is the worker that list[hash % size] picked before sets
// existed. Fixed hashes with their expected workers, so a change of the rule fails.
TEST_CASE("sets of one route every hash to the worker a plain id list did", "[config][routing]") {
  const std::vector<ReplicaSet> sets = SetsOfOne({"0", "1", "2", "3", "4"});
  const std::array<std::pair<uint64_t, const char*>, 6> expected = {{{0, "0"},
                                                                     {7, "2"},
                                                                     {13, "3"},
                                                                     {0x8000000000000000ULL, "3"},
                                                                     {UINT64_MAX, "0"},
                                                                     {123456789, "4"}}};
  for (const auto& [hash, worker] : expected) {
    INFO("hash " << hash);
    REQUIRE(SetForHash(sets, hash).size() == 1);
    CHECK(SetForHash(sets, hash).front() == worker);
  }
  uint64_t state = 7;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t hash = NextHash(state);
    CHECK(SetForHash(sets, hash).front() == std::to_string(hash % 5));
  }
}

TEST_CASE("a million random hashes spread over 4 sets within 1% of even", "[config][routing]") {
  const std::vector<ReplicaSet> sets = SetsOfOne({"0", "1", "2", "3"});
  std::array<int, 4> counts{};
  uint64_t state = 42;
  constexpr int kHashes = 1000000;
  for (int i = 0; i < kHashes; ++i) ++counts[std::stoi(SetForHash(sets, NextHash(state))[0])];
  for (int count : counts) {
    INFO(count);
    CHECK(std::abs(count - kHashes / 4) <= kHashes / 4 / 100);
  }
}

TEST_CASE("node lists are printed in order by set key, or as none", "[config][routing]") {
  const std::vector<ReplicaSet> plain = SetsOfOne({"1", "0"});
  CHECK(JoinNodes(&plain) == "[1, 0]");
  const std::vector<ReplicaSet> sets = {{"0", "1"}, {"2"}, {"4", "3"}};
  CHECK(JoinNodes(&sets) == "[0+1, 2, 4+3]");
  CHECK(JoinNodes(nullptr) == "none");
}

}  // namespace rt
