#include "config/slice_math.h"

#include <charconv>
#include <limits>
#include <string>

#include "config/config_problem.h"
#include "config/utc_time.h"

namespace rt {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Result<int64_t> SliceOfSeconds(const ClusterConfig& config, int64_t seconds) {
  if (seconds < config.first_slice_s) {
    return Status::InvalidArgument("timestamp is before the first slice (" +
                                   FormatUtcTime(config.first_slice_s) + " UTC)");
  }
  // seconds >= first_slice_s, so the difference is non-negative; it can only
  // overflow when first_slice_s is negative (a first slice before 1970).
  int64_t since_first = 0;
  if (__builtin_sub_overflow(seconds, config.first_slice_s, &since_first)) {
    return Status::InvalidArgument("timestamp is out of range");
  }
  return since_first / config.slice_length_s;
}

}  // namespace

Result<int64_t> ParseTimestamp(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("timestamp is empty");
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  // from_chars accepts a leading '-' but no '+' or spaces, which is what we want;
  // a lone "-" fails as not a number.
  int64_t value = 0;
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument("timestamp " + QuoteForMessage(text) + " is out of range");
  }
  if (ec != std::errc() || stop != end) {
    return Status::InvalidArgument("timestamp " + QuoteForMessage(text) + " is not an integer");
  }
  return value;
}

Result<int64_t> SliceOfTimestamp(const ClusterConfig& config, int64_t timestamp) {
  const bool millis = config.timestamp_unit == TimestampUnit::kMilliseconds;
  const int64_t seconds = millis ? FloorDiv(timestamp, 1000) : timestamp;
  Result<int64_t> slice = SliceOfSeconds(config, seconds);
  // Epoch seconds sent to a milliseconds cluster read as January 1970, so they land
  // before the first slice; when the same number read as seconds would not, and is
  // too small to be the milliseconds of any date after 1973, the operator's mistake
  // is the unit, and the reason says so (decided on the numbers).
  if (!slice.ok() && millis && seconds < config.first_slice_s &&
      timestamp >= config.first_slice_s && timestamp >= 0 && timestamp < kEpochSecondsMillisSplit) {
    return Status::InvalidArgument(
        "timestamp " + std::to_string(timestamp) + " is before the first slice (" +
        FormatUtcTime(config.first_slice_s) +
        " UTC): it looks like epoch seconds; this cluster expects epoch milliseconds "
        "(timestamp-unit)");
  }
  return slice;
}

Result<int64_t> SliceOfEpochMillis(const ClusterConfig& config, int64_t epoch_ms) {
  return SliceOfSeconds(config, FloorDiv(epoch_ms, 1000));
}

Result<int64_t> TimestampToEpochMillis(const ClusterConfig& config, int64_t timestamp) {
  if (config.timestamp_unit == TimestampUnit::kMilliseconds) return timestamp;
  int64_t ms = 0;
  if (__builtin_mul_overflow(timestamp, int64_t{1000}, &ms)) {
    return Status::InvalidArgument("timestamp " + std::to_string(timestamp) +
                                   " s is out of range in milliseconds");
  }
  return ms;
}

int64_t SliceStartSeconds(const ClusterConfig& config, int64_t slice) {
  int64_t offset = 0;
  int64_t start = 0;
  if (__builtin_mul_overflow(slice, config.slice_length_s, &offset) ||
      __builtin_add_overflow(config.first_slice_s, offset, &start)) {
    return slice < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return start;
}

Result<int64_t> SliceStartTimestamp(const ClusterConfig& config, int64_t slice) {
  int64_t offset = 0;
  int64_t start = 0;
  if (__builtin_mul_overflow(slice, config.slice_length_s, &offset) ||
      __builtin_add_overflow(config.first_slice_s, offset, &start)) {
    return Status::InvalidArgument("start of slice " + std::to_string(slice) + " is out of range");
  }
  if (config.timestamp_unit == TimestampUnit::kSeconds) return start;
  int64_t ms = 0;
  if (__builtin_mul_overflow(start, int64_t{1000}, &ms)) {
    return Status::InvalidArgument("start of slice " + std::to_string(slice) +
                                   " is out of range in milliseconds");
  }
  return ms;
}

}  // namespace rt
