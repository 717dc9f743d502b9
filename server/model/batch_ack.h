#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/model/slice_stats.h"

namespace rt {

// The 200 JSON answer of POST /worker/batch:
// {"acked_seq":N,"applied":A,"duplicates":D,
//  "slices":[{"slice":S,"unique_users":U,"clicks":C,"impressions":I},...]}
// acked_seq is the stream's high-water mark after the batch; `slices` holds the
// stats (after the batch) of every slice the batch named, ascending.
struct BatchAck {
  uint64_t acked_seq = 0;
  uint64_t applied = 0;
  uint64_t duplicates = 0;
  std::vector<std::pair<int64_t, SliceStats>> slices;

  friend bool operator==(const BatchAck&, const BatchAck&) = default;
};

std::string FormatBatchAck(const BatchAck& ack);
// "applied" is optional when parsing; the other members are required.
[[nodiscard]] Result<BatchAck> ParseBatchAck(std::string_view json);

}  // namespace rt
