#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/model/batch_codec.h"
#include "server/model/slice_stats.h"

namespace rt {

// One batch of a stream as the worker received it: events first_seq,
// first_seq + 1, ... of `stream`, keyed with the secret named by `key_id`.
struct BatchRequest {
  std::string stream;
  uint64_t first_seq = 0;
  std::string key_id;
  std::vector<BatchEvent> events;
};

// What applying a batch did.
struct BatchOutcome {
  uint64_t acked_seq = 0;   // the stream's high-water mark afterwards
  uint64_t applied = 0;     // events newly counted
  uint64_t duplicates = 0;  // events skipped because their seq was <= the mark
  // Stats after the batch of every slice the batch named (duplicates included),
  // ascending by slice.
  std::vector<std::pair<int64_t, SliceStats>> touched;
};

}  // namespace rt
