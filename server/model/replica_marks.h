#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace rt {

// What a replica member says about the numbers it answers with (docs/design.md §14
// "Replica sets", Read path): the marks of its replica set's streams, read before the
// numbers (so each is a lower bound of what the numbers include), and whether the
// slice is sealed there (its numbers are final).
//
// On the wire it is the X-Rt-Marks header of GET /worker?slice=S&marks=TAG:
// {"sealed":false,"streams":{"api-1:7@3f2a9c1e":120,...}}, the streams ending in
// "@TAG" only: those of other sets are not comparable between members.
struct ReplicaMarks {
  bool sealed = false;
  // Ascending by stream id, no stream twice (the comparisons walk two lists at once).
  std::vector<std::pair<std::string, uint64_t>> streams;

  friend bool operator==(const ReplicaMarks&, const ReplicaMarks&) = default;

  // Raises `stream`'s mark to at least `mark` (a batch ack: marks only grow).
  void Raise(std::string_view stream, uint64_t mark);
};

std::string FormatReplicaMarks(const ReplicaMarks& marks);
// Sorts the streams; refuses what is not the object above (a member's answer that
// does not parse is not used: the read asks another member).
[[nodiscard]] Result<ReplicaMarks> ParseReplicaMarks(std::string_view json);

}  // namespace rt
