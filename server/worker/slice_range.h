#pragma once

#include <cstdint>

#include "base/clock.h"
#include "base/status.h"

namespace rt {

// The slice geometry of the cluster config that a worker needs to judge a slice
// number (worker/ does not depend on config/: serve-worker copies these three
// values from the config it loads).
struct SliceGeometry {
  int64_t first_slice_s = 0;  // start of slice 0, epoch seconds
  int64_t slice_length_s = 3600;
  int64_t max_future_s = 300;
};

// Which slices a worker accepts: [0, MaxSlice()], where MaxSlice is the slice
// containing now + max-future-s by the worker's clock, plus one slice of slack.
// The API node already refuses events further ahead than max-future-s by its own
// clock; the slack covers that clock being ahead of the worker's by up to a slice,
// so that a correct event is never refused for clock skew. Anything beyond is a
// forged or buggy sender: without this bound a slice like 9e15 creates records that
// no read ever asks for, and a batch of distinct slices grows the slice directory
// without limit (docs/design.md §3 "Exactly-once streams and the worker protocol").
// Thread-safe (immutable; reads the clock). The clock must outlive it.
class SliceRange {
 public:
  SliceRange(SliceGeometry geometry, const Clock& clock) : geometry_(geometry), clock_(&clock) {}

  // The greatest accepted slice now; negative when the clock is before the first
  // slice (then nothing is accepted).
  int64_t MaxSlice() const;

  // InvalidArgument naming the slice and the accepted range if `slice` is outside
  // [0, max_slice]; for checking many slices against one MaxSlice() reading.
  static Status Check(int64_t slice, int64_t max_slice);

  // The slice `now_ms` falls in (floor; negative before the first slice).
  static int64_t SliceAt(const SliceGeometry& geometry, int64_t now_ms);

 private:
  SliceGeometry geometry_;
  const Clock* clock_;
};

}  // namespace rt
