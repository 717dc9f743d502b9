#pragma once

#include <cstdint>
#include <string>

namespace rt::testing {

// The wall clock now, in epoch milliseconds.
int64_t NowMs();

// The slices of a test cluster whose config has a `first-slice` computed from now,
// so that now lies in the middle of a slice. A test then never crosses a slice
// boundary (it runs for far less than half a slice) and never sleeps to one: past
// slices take late events, the current one takes events at now, and a routing
// change for the next slice is safe at once when half a slice exceeds
// max-future-s + reload-interval-s.
struct SliceClock {
  int64_t slice_ms = 0;
  int64_t first_slice_ms = 0;
  std::string first_slice;  // the config's "YYYY-MM-DDTHH:MM:SS" (UTC) form
  int64_t now_slice = 0;    // the slice that holds now

  int64_t SliceOf(int64_t ts_ms) const;
  int64_t Start(int64_t slice) const { return first_slice_ms + slice * slice_ms; }
  // A timestamp in the middle of `slice`.
  int64_t Middle(int64_t slice) const { return Start(slice) + slice_ms / 2; }
};

// Now is half a slice into slice `past_slices` (slices 0..past_slices-1 are in the
// past). REQUIRES: slice_length_s >= 2, past_slices >= 0.
SliceClock MidSliceClock(int64_t slice_length_s, int64_t past_slices);

// The slices of a config with a given first-slice ("YYYY-MM-DDTHH:MM:SS", UTC), for
// tests that place now themselves. REQUIRES: `first_slice` has that form.
SliceClock FixedSliceClock(int64_t slice_length_s, const std::string& first_slice);

// Epoch seconds as "YYYY-MM-DDTHH:MM:SS" (UTC), and back (-1 if `text` is not that form).
std::string FormatUtc(int64_t epoch_s);
int64_t ParseUtc(const std::string& text);

}  // namespace rt::testing
