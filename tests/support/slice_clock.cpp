#include "tests/support/slice_clock.h"

#include <chrono>
#include <cstdio>
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

SliceClock FixedSliceClock(int64_t slice_length_s, const std::string& first_slice) {
  SliceClock clock;
  clock.slice_ms = slice_length_s * 1000;
  clock.first_slice_ms = ParseUtc(first_slice) * 1000;
  clock.first_slice = first_slice;
  clock.now_slice = clock.SliceOf(NowMs());
  return clock;
}

int64_t ParseUtc(const std::string& text) {
  std::tm tm{};
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
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
