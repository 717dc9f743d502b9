// Replica sets in the config (issue #14, docs/design.md §14): both shapes of
// `routing[].nodes`, their names, their validation and the safe-change rule over them.
#include "config/replica_set.h"

#include <catch2/catch.hpp>
#include <string>

#include "config/config_loader.h"
#include "config/routing.h"
#include "config/safe_change.h"

namespace rt {
namespace {

constexpr int64_t kFirst = 1577836800;  // 2020-01-01T00:00:00

// A config text with four workers (0 and 1 on host a, 2 and 3 on hosts b and c) and
// `nodes` as the routing entry of slice 0.
std::string ConfigText(const std::string& nodes) {
  return R"({
  "api-nodes": {"a": "http://127.0.0.1:8000/analytics"},
  "worker-nodes": {"0": "http://a:9000/worker", "1": "http://a:9001/worker",
                   "2": "http://b:9002/worker", "3": "http://c:9003/worker"},
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",
  "routing": [
    {"slice": 0,
     "nodes": )" +
         nodes + R"(}
  ]
})";
}

ConfigReport Check(const std::string& nodes) {
  return CheckClusterConfigText(ConfigText(nodes), 0);
}

// The only error of `nodes`, as "path: message".
std::string OnlyError(const std::string& nodes) {
  const ConfigReport report = Check(nodes);
  std::string out;
  int errors = 0;
  for (const ConfigProblem& p : report.problems) {
    if (!p.is_error()) continue;
    ++errors;
    out = p.path + ": " + p.message;
    CHECK(p.line == 9);
  }
  CHECK(errors == 1);
  CHECK_FALSE(report.ok());
  return out;
}

ClusterConfig Parsed(const std::string& nodes) {
  Result<ClusterConfig> config = ParseClusterConfig(ConfigText(nodes), 0);
  REQUIRE(config.ok());
  return *config;
}

int64_t NowMs(int64_t slice) { return (kFirst + slice * 3600 + 1800) * 1000; }

}  // namespace

TEST_CASE("routing nodes may be plain ids, replica sets or both", "[config][replica]") {
  CHECK(Parsed(R"(["0", "1"])").routing[0].nodes == SetsOfOne({"0", "1"}));
  CHECK(Parsed(R"([["0", "2"], ["1", "3"]])").routing[0].nodes ==
        std::vector<ReplicaSet>{{"0", "2"}, {"1", "3"}});
  CHECK(Parsed(R"(["0", ["1", "2"]])").routing[0].nodes ==
        std::vector<ReplicaSet>{{"0"}, {"1", "2"}});
}

TEST_CASE("a set of one is the same config written plain or as a list", "[config][replica]") {
  CHECK(Parsed(R"(["0", "1"])") == Parsed(R"([["0"], ["1"]])"));
  CHECK(Parsed(R"(["0", "1"])") == Parsed(R"([["0"], "1"])"));
  CHECK_FALSE(Parsed(R"(["0", "1"])") == Parsed(R"([["0", "1"]])"));
  // And no safe-change check sees a difference between them.
  CHECK(CheckSafeChange(Parsed(R"(["0", "1"])"), Parsed(R"([["0"], ["1"]])"), NowMs(5)).empty());
}

TEST_CASE("every replica set mistake is one error naming entry and set", "[config][replica]") {
  CHECK(OnlyError(R"([[], "1"])") ==
        "routing[0].nodes[0]: empty replica set: a set needs at least one worker");
  CHECK(OnlyError(R"([["0", "2", "0"]])") ==
        "routing[0].nodes[0][2]: worker \"0\" is twice in this replica set (also at nodes[0][0])");
  CHECK(OnlyError(R"([["0", "2"], ["1", "2"]])") ==
        "routing[0].nodes[1][1]: worker \"2\" is already in replica set nodes[0] of this entry "
        "(a worker may be in one set per routing entry)");
  CHECK(OnlyError(R"([["0", "2"], "2"])") ==
        "routing[0].nodes[1]: worker \"2\" is already in replica set nodes[0] of this entry "
        "(a worker may be in one set per routing entry)");
  CHECK(OnlyError(R"(["1", ["1"]])") ==
        "routing[0].nodes[1]: worker \"1\" is already in this list at nodes[0]");
  CHECK(OnlyError(R"([["0", "9"]])") == "routing[0].nodes[0][1]: unknown worker id \"9\"");
  CHECK(OnlyError(R"([["0", 2]])") ==
        "routing[0].nodes[0][1]: worker id must be a string (\"0\"), not 2");
  CHECK(OnlyError(R"([{"a": 1}])") ==
        "routing[0].nodes[0]: worker id must be a string (\"0\") or a replica set ([\"0\", "
        "\"1\"]), not {\"a\":1}");
}

TEST_CASE("members of one set on one host are a warning, not an error", "[config][replica]") {
  const ConfigReport report = Check(R"([["0", "1"], ["2", "3"]])");
  REQUIRE(report.ok());
  REQUIRE(report.problems.size() == 1);
  CHECK_FALSE(report.problems[0].is_error());
  CHECK(report.problems[0].path == "routing[0].nodes[0]");
  CHECK(report.problems[0].message ==
        "replica set members 0, 1 share the host \"a\": losing that host loses all their copies");
}

TEST_CASE("a set is named by its members and tagged by their hash", "[config][replica]") {
  CHECK(SetKey({"3"}) == "3");
  CHECK(SetKey({"0", "1"}) == "0+1");
  CHECK(SetKey({"1", "0"}) == "1+0");
  // printf 0+1 | sha256sum | cut -c1-8
  CHECK(SetTag({"0", "1"}) == "a56311c6");
  CHECK(SetTag({"0", "1"}).size() == 8);
  CHECK(SetTag({"1", "0"}) != SetTag({"0", "1"}));
  CHECK(MembersOf({{"0", "1"}, {"2"}}) == std::vector<std::string>{"0", "1", "2"});
  CHECK(HasMember({{"0", "1"}, {"2"}}, "1"));
  CHECK_FALSE(HasMember({{"0", "1"}, {"2"}}, "3"));
  CHECK(ReplicaSetsOf(Parsed(R"(["0", "1"])")) == std::vector<ReplicaSet>{{"0"}, {"1"}});
  CHECK(ReplicaSetsOf(Parsed(R"(["0", ["1", "2"]])")) ==
        std::vector<ReplicaSet>{{"0"}, {"1", "2"}});
}

TEST_CASE("a set's members in the current slice are as fixed as the list of sets",
          "[config][replica][safe]") {
  const ClusterConfig old_config = Parsed(R"([["0", "2"], "1"])");
  const auto only_change = [&old_config](const std::string& nodes) {
    const std::vector<UnsafeChange> changes = CheckSafeChange(old_config, Parsed(nodes), NowMs(5));
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].first_slice == 0);
    CHECK(changes[0].last_slice == 5);
    return changes[0].message;
  };
  CHECK(only_change(R"([["0", "2", "3"], "1"])") ==
        "slices 0..5: routing changes from [0+2, 1] to [0+2+3, 1]: set 0 gains 3, without these "
        "slices' data (safe only from slice 6)");
  CHECK(only_change(R"(["0", "1"])") ==
        "slices 0..5: routing changes from [0+2, 1] to [0, 1]: set 0 loses 2, which may hold the "
        "only complete copy (safe only from slice 6)");
  CHECK(only_change(R"([["2", "0"], "1"])") ==
        "slices 0..5: routing changes from [0+2, 1] to [2+0, 1]: set 0 reorders its members, "
        "which makes it another set (its key, streams and spool) (safe only from slice 6)");
  CHECK(only_change(R"(["1", ["0", "2"]])") ==
        "slices 0..5: routing changes from [0+2, 1] to [1, 0+2]: the sets are reordered, which "
        "moves users between sets (safe only from slice 6)");
  // A member added from a future slice on is a new set there: safe.
  ClusterConfig grown = old_config;
  grown.routing.push_back({7, {{"0", "2", "3"}, {"1"}}});
  CHECK(CheckSafeChange(old_config, grown, NowMs(5)).empty());
}

}  // namespace rt
