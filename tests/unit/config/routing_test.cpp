#include "config/routing.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>

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
  const ClusterConfig config =
      ConfigWithRouting({{0, {"0"}}, {1, {"0", "1"}}, {3, {"0", "1", "2", "3"}}, {100, {"0"}}});
  using Nodes = std::vector<std::string>;
  CHECK(*NodesForSlice(config, 0) == Nodes{"0"});
  CHECK(*NodesForSlice(config, 1) == Nodes{"0", "1"});
  CHECK(*NodesForSlice(config, 2) == Nodes{"0", "1"});
  CHECK(*NodesForSlice(config, 3) == Nodes{"0", "1", "2", "3"});
  CHECK(*NodesForSlice(config, 99) == Nodes{"0", "1", "2", "3"});
  CHECK(*NodesForSlice(config, 100) == Nodes{"0"});
  CHECK(*NodesForSlice(config, 1000000000) == Nodes{"0"});
  CHECK(NodesForSlice(config, -1) == nullptr);
}

TEST_CASE("slices before a first routing entry after slice 0 have no workers",
          "[config][routing]") {
  const ClusterConfig config = ConfigWithRouting({{5, {"1", "0"}}, {8, {"2"}}});
  CHECK(NodesForSlice(config, 0) == nullptr);
  CHECK(NodesForSlice(config, 4) == nullptr);
  REQUIRE(NodesForSlice(config, 5) != nullptr);
  CHECK(*NodesForSlice(config, 5) == std::vector<std::string>{"1", "0"});
  CHECK(*NodesForSlice(config, 8) == std::vector<std::string>{"2"});
  const std::vector<RoutingRange> ranges = RoutingRanges(config);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0].first == 5);
  CHECK(ranges[0].last == 7);
  CHECK(ranges[1].first == 8);
  CHECK_FALSE(ranges[1].last.has_value());
}

TEST_CASE("the worker of a hash is list[hash mod size] in list order", "[config][routing]") {
  const std::vector<std::string> nodes = {"2", "0", "1"};
  CHECK(WorkerForHash(nodes, 0) == "2");
  CHECK(WorkerForHash(nodes, 1) == "0");
  CHECK(WorkerForHash(nodes, 5) == "1");
  CHECK(WorkerForHash(nodes, UINT64_MAX) == nodes[UINT64_MAX % 3]);
}

TEST_CASE("a million random hashes spread over 4 workers within 1% of even", "[config][routing]") {
  const std::vector<std::string> nodes = {"0", "1", "2", "3"};
  std::array<int, 4> counts{};
  uint64_t state = 42;
  constexpr int kHashes = 1000000;
  for (int i = 0; i < kHashes; ++i) ++counts[std::stoi(WorkerForHash(nodes, NextHash(state)))];
  for (int count : counts) {
    INFO(count);
    CHECK(std::abs(count - kHashes / 4) <= kHashes / 4 / 100);
  }
}

TEST_CASE("node lists are printed in order, or as none", "[config][routing]") {
  const std::vector<std::string> nodes = {"1", "0"};
  CHECK(JoinNodes(&nodes) == "[1, 0]");
  CHECK(JoinNodes(nullptr) == "none");
}

}  // namespace rt
