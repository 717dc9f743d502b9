#include "tests/support/slice_clock.h"

#include <chrono>
#include <ctime>

namespace rt::testing {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SliceClock::SliceOf(int64_t ts_ms) const {
  const int64_t offset = ts_ms - first_slice_ms;
  return offset >= 0 ? offset / slice_ms : -((-offset + slice_ms - 1) / slice_ms);
}

SliceClock MidSliceClock(int64_t slice_length_s, int64_t past_slices) {
  const int64_t now_s = NowMs() / 1000;
  SliceClock clock;
  clock.slice_ms = slice_length_s * 1000;
  const int64_t first_s = now_s - slice_length_s / 2 - past_slices * slice_length_s;
  clock.first_slice_ms = first_s * 1000;
  clock.first_slice = FormatUtc(first_s);
  clock.now_slice = past_slices;
  return clock;
}

std::string FormatUtc(int64_t epoch_s) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

}  // namespace rt::testing
