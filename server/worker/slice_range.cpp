#include "server/worker/slice_range.h"

#include <limits>
#include <string>

namespace rt {

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t SliceRange::MaxSlice() const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t now_s = FloorDiv(clock_->NowMillis(), 1000);
  int64_t ahead = 0;
  int64_t since_first = 0;
  // Saturates instead of overflowing for absurd config values (max-future-s of 2^62).
  if (__builtin_add_overflow(now_s, geometry_.max_future_s, &ahead) ||
      __builtin_sub_overflow(ahead, geometry_.first_slice_s, &since_first)) {
    return kMax;
  }
  const int64_t length = geometry_.slice_length_s > 0 ? geometry_.slice_length_s : 1;
  const int64_t slice = FloorDiv(since_first, length);
  return slice == kMax ? kMax : slice + 1;
}

int64_t SliceRange::SliceAt(const SliceGeometry& geometry, int64_t now_ms) {
  const int64_t length = geometry.slice_length_s > 0 ? geometry.slice_length_s : 1;
  return FloorDiv(FloorDiv(now_ms, 1000) - geometry.first_slice_s, length);
}

Status SliceRange::Check(int64_t slice, int64_t max_slice) {
  if (slice >= 0 && slice <= max_slice) return Status::Ok();
  if (max_slice < 0) {
    return Status::InvalidArgument("slice " + std::to_string(slice) +
                                   " refused: the worker's clock is before the first slice, no "
                                   "slice is accepted yet");
  }
  return Status::InvalidArgument("slice " + std::to_string(slice) +
                                 " is outside the accepted range [0, " + std::to_string(max_slice) +
                                 "] (the slice of now + max-future-s, plus one)");
}

}  // namespace rt
