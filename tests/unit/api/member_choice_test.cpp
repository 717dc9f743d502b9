// Which member answers for a replica set (docs/design.md §14 "Replica sets", Read path).
#include "server/api/member_choice.h"

#include <catch2/catch.hpp>
#include <vector>

namespace rt {
namespace {

ReplicaMarks Marks(std::vector<std::pair<std::string, uint64_t>> streams, bool sealed = false) {
  return ReplicaMarks{sealed, std::move(streams)};
}

size_t Choose(const std::vector<ReplicaMarks>& marks, const std::vector<SliceStats>& stats) {
  std::vector<MemberAnswer> answers;
  for (size_t i = 0; i < marks.size(); ++i) answers.push_back({&stats[i], &marks[i]});
  return ChooseMember(answers);
}

}  // namespace

TEST_CASE("a member dominates when it is at least as far on every stream", "[api][replica]") {
  const ReplicaMarks a = Marks({{"n1:1@t", 10}, {"n2:1@t", 5}});
  const ReplicaMarks b = Marks({{"n1:1@t", 9}, {"n2:1@t", 5}});
  CHECK(Dominates(a, b));
  CHECK_FALSE(Dominates(b, a));
  CHECK(Dominates(a, a));
  // A stream the other lacks counts 0 there; one it has and `a` lacks is a loss.
  CHECK(Dominates(a, Marks({{"n1:1@t", 3}})));
  CHECK_FALSE(Dominates(Marks({{"n1:1@t", 30}}), a));
  CHECK(Dominates(Marks({}), Marks({{"n3:1@t", 0}})));
}

TEST_CASE("the dominating member answers, wherever it is in the set", "[api][replica]") {
  const std::vector<SliceStats> stats(3, SliceStats{1, 1, 1});
  CHECK(Choose({Marks({{"s", 4}}), Marks({{"s", 9}}), Marks({{"s", 7}})}, stats) == 1);
  CHECK(Choose({Marks({{"s", 9}}), Marks({{"s", 9}}), Marks({{"s", 7}})}, stats) == 0);
  // The marks decide, not the counts: a slice's count says nothing about the other
  // slices' events of the same streams.
  const std::vector<SliceStats> uneven = {SliceStats{9, 9, 9}, SliceStats{1, 1, 1}};
  CHECK(Choose({Marks({{"s", 4}}), Marks({{"s", 5}})}, uneven) == 1);
}

TEST_CASE("without a dominating member the greatest sum of marks answers", "[api][replica]") {
  const std::vector<SliceStats> stats(3, SliceStats{});
  const ReplicaMarks a = Marks({{"x", 10}, {"y", 1}});  // sum 11
  const ReplicaMarks b = Marks({{"x", 2}, {"y", 12}});  // sum 14
  const ReplicaMarks c = Marks({{"x", 12}, {"y", 0}});  // sum 12
  CHECK(Choose({a, b, c}, stats) == 1);
  CHECK(Choose({a, c}, stats) == 1);  // c dominates a
  // A tie goes to the first.
  CHECK(Choose({Marks({{"x", 5}, {"y", 1}}), Marks({{"x", 1}, {"y", 5}})}, stats) == 0);
}

TEST_CASE("sealed answers win, the one with the most events first", "[api][replica]") {
  const std::vector<SliceStats> stats = {SliceStats{1, 1, 1}, SliceStats{2, 2, 2},
                                         SliceStats{3, 3, 3}};
  // The unsealed member is far ahead on marks, but the slice is final on the others.
  CHECK(Choose({Marks({{"s", 1}}, true), Marks({{"s", 2}}, true), Marks({{"s", 99}})}, stats) == 1);
  CHECK(Choose({Marks({{"s", 99}}), Marks({{"s", 1}}, true)}, stats) == 1);
}

TEST_CASE("replica marks go over the wire and back, sorted", "[api][replica]") {
  ReplicaMarks marks;
  marks.sealed = true;
  marks.Raise("b:1@t", 5);
  marks.Raise("a:1@t", 7);
  marks.Raise("b:1@t", 3);  // marks only grow
  REQUIRE(marks.streams.size() == 2);
  CHECK(marks.streams[0] == std::pair<std::string, uint64_t>("a:1@t", 7));
  CHECK(marks.streams[1] == std::pair<std::string, uint64_t>("b:1@t", 5));
  Result<ReplicaMarks> back = ParseReplicaMarks(FormatReplicaMarks(marks));
  REQUIRE(back.ok());
  CHECK(*back == marks);

  CHECK_FALSE(ParseReplicaMarks("").ok());
  CHECK_FALSE(ParseReplicaMarks(R"({"sealed":false})").ok());
  CHECK_FALSE(ParseReplicaMarks(R"({"sealed":1,"streams":{}})").ok());
  CHECK_FALSE(ParseReplicaMarks(R"({"sealed":false,"streams":{"a":-1}})").ok());
  CHECK_FALSE(ParseReplicaMarks(R"({"sealed":false,"streams":{"a":1.5}})").ok());
  CHECK_FALSE(ParseReplicaMarks(R"({"sealed":false,"streams":[]})").ok());
}

}  // namespace rt
