#pragma once

#include <cstddef>
#include <span>

#include "server/model/replica_marks.h"
#include "server/model/slice_stats.h"

namespace rt {

// One member's answer for a slice: its numbers and the marks it read before them.
struct MemberAnswer {
  const SliceStats* stats = nullptr;
  const ReplicaMarks* marks = nullptr;
};

// Whether `a` has every stream at least as far as `b` (a stream `a` lacks counts 0).
bool Dominates(const ReplicaMarks& a, const ReplicaMarks& b);

// The member a replica set's part of a slice is answered from (docs/design.md §14
// "Replica sets", Read path); one member's numbers, never a mix, so the part is
// exact as of a prefix of every stream whichever member is taken. The rule only
// picks the freshest:
//   1. where some answers are sealed (final counts), the sealed one with the most
//      events: a member that caught up after the seal dropped the late events;
//   2. else the first whose marks dominate every other's;
//   3. else the greatest sum of marks; ties go to the first.
// REQUIRES: !answers.empty(), every pointer set.
size_t ChooseMember(std::span<const MemberAnswer> answers);

}  // namespace rt
