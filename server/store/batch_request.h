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

// Whether a batch was applied, or why it was refused. The worker's answer (status
// code and headers) is chosen from this, never from a message text.
enum class BatchVerdict {
  kApplied,      // applied; duplicates (seqs <= the mark) skipped. May apply nothing.
  kGap,          // first_seq > mark + 1: nothing applied; see expected_seq
  kKeyMismatch,  // keyed with another secret: nothing applied; see stored_key_id
};

// What applying a batch did.
struct BatchOutcome {
  BatchVerdict verdict = BatchVerdict::kApplied;
  uint64_t acked_seq = 0;   // the stream's high-water mark afterwards
  uint64_t applied = 0;     // events newly counted
  uint64_t duplicates = 0;  // events skipped because their seq was <= the mark
  // Events of slices already sealed (docs/design.md §7 "Store records"): their counts are
  // final, so these are not counted (not part of `applied`).
  uint64_t sealed = 0;
  // kGap: the seq the stream must continue at (the mark + 1).
  uint64_t expected_seq = 0;
  // kKeyMismatch: the key id of the data the store holds, and the batch's.
  std::string stored_key_id;
  std::string offered_key_id;
  // kApplied: stats after the batch of every slice the batch named (duplicates
  // included), ascending by slice. Empty for a refusal.
  std::vector<std::pair<int64_t, SliceStats>> touched;

  bool refused() const { return verdict != BatchVerdict::kApplied; }
};

}  // namespace rt
