#include "cli/time_option.h"

#include "config/config_problem.h"
#include "config/slice_math.h"
#include "config/utc_time.h"

namespace rt::cli {

Result<int64_t> ParseTimeOption(const std::string& option, std::string_view text,
                                TimestampUnit unit) {
  if (text.find('T') != std::string_view::npos) {
    const Result<int64_t> seconds = ParseUtcTime(text);
    if (!seconds.ok()) return seconds.status().WithContext(option);
    return *seconds * 1000;
  }
  const Result<int64_t> value = ParseTimestamp(text);
  const std::string unit_name(TimestampUnitName(unit));
  if (!value.ok()) {
    return Status::InvalidArgument(option + " must be epoch " + unit_name +
                                   " or YYYY-MM-DDTHH:MM:SS: " + value.status().message());
  }
  if (unit == TimestampUnit::kMilliseconds) return *value;
  ClusterConfig seconds_config;
  seconds_config.timestamp_unit = TimestampUnit::kSeconds;
  const Result<int64_t> ms = TimestampToEpochMillis(seconds_config, *value);
  if (!ms.ok()) return ms.status().WithContext(option);
  return ms;
}

Status CheckNotBeforeFirstSlice(const std::string& option, std::string_view text, int64_t epoch_ms,
                                const ClusterConfig& config, const std::string& where) {
  const int64_t first_ms = config.first_slice_s * 1000;
  if (epoch_ms >= first_ms) return Status::Ok();
  std::string message = option + " " + QuoteForMessage(text) + " (" +
                        FormatUtcTime(epoch_ms >= 0 ? epoch_ms / 1000 : -1) +
                        " UTC) is before the first slice of " + where + " (" +
                        FormatUtcTime(config.first_slice_s) + " UTC)";
  if (config.timestamp_unit == TimestampUnit::kMilliseconds && epoch_ms >= 0 &&
      epoch_ms <= INT64_MAX / 1000 && epoch_ms * 1000 >= first_ms) {
    message += ": it looks like epoch seconds, not milliseconds";
  }
  return Status::InvalidArgument(message);
}

}  // namespace rt::cli
