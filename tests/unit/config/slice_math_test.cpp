#include "config/slice_math.h"

#include <catch2/catch.hpp>
#include <limits>

#include "config/replica_set.h"
#include "config/utc_time.h"

namespace rt {
namespace {

ClusterConfig HourlyConfig(TimestampUnit unit) {
  ClusterConfig config;
  config.slice_length_s = 3600;
  config.first_slice_s = *ParseUtcTime("2017-05-20T00:00:00");
  config.timestamp_unit = unit;
  config.routing = {{0, SetsOfOne({"0"})}};
  return config;
}

}  // namespace

TEST_CASE("a timestamp parses as a signed 64-bit integer", "[config][slice]") {
  CHECK(*ParseTimestamp("0") == 0);
  CHECK(*ParseTimestamp("1495238400000") == 1495238400000);
  CHECK(*ParseTimestamp("-5") == -5);
  CHECK(*ParseTimestamp("9223372036854775807") == std::numeric_limits<int64_t>::max());
}

TEST_CASE("an overflowing timestamp is an error, not a wrapped number", "[config][slice]") {
  const Result<int64_t> parsed = ParseTimestamp("99999999999999999999");
  REQUIRE_FALSE(parsed.ok());
  CHECK_THAT(parsed.status().message(), Catch::Contains("out of range"));
  CHECK_FALSE(ParseTimestamp("9223372036854775808").ok());
  CHECK_FALSE(ParseTimestamp("-9223372036854775809").ok());
}

TEST_CASE("a timestamp with anything but digits is an error", "[config][slice]") {
  for (const char* bad : {"", "-", "+5", " 5", "5 ", "1.5", "12abc", "0x10", "1e3"}) {
    INFO(bad);
    const Result<int64_t> parsed = ParseTimestamp(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
  }
}

TEST_CASE("millisecond timestamps map to slices at exact boundaries", "[config][slice]") {
  const ClusterConfig config = HourlyConfig(TimestampUnit::kMilliseconds);
  const int64_t start_ms = config.first_slice_s * 1000;
  CHECK(*SliceOfTimestamp(config, start_ms) == 0);
  CHECK(*SliceOfTimestamp(config, start_ms + 3600 * 1000 - 1) == 0);
  CHECK(*SliceOfTimestamp(config, start_ms + 3600 * 1000) == 1);
  CHECK(*SliceOfTimestamp(config, start_ms + 5 * 3600 * 1000 + 1) == 5);
  const Result<int64_t> before = SliceOfTimestamp(config, start_ms - 1);
  REQUIRE_FALSE(before.ok());
  CHECK_THAT(before.status().message(), Catch::Contains("before the first slice"));
}

TEST_CASE("a seconds timestamp on a milliseconds config is named as epoch seconds",
          "[config][slice]") {
  const ClusterConfig config = HourlyConfig(TimestampUnit::kMilliseconds);
  const Result<int64_t> seconds = SliceOfTimestamp(config, config.first_slice_s + 7200);
  REQUIRE_FALSE(seconds.ok());
  CHECK_THAT(seconds.status().message(), Catch::Contains("before the first slice") &&
                                             Catch::Contains("looks like epoch seconds") &&
                                             Catch::Contains("expects epoch milliseconds"));
  // Too early even as seconds, or milliseconds just before the first slice: no hint.
  for (const int64_t early : {int64_t{1000}, config.first_slice_s * 1000 - 1}) {
    INFO(early);
    const Result<int64_t> refused = SliceOfTimestamp(config, early);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.status().message(), !Catch::Contains("seconds"));
  }
}

TEST_CASE("second timestamps map to slices at exact boundaries", "[config][slice]") {
  const ClusterConfig config = HourlyConfig(TimestampUnit::kSeconds);
  const int64_t start = config.first_slice_s;
  CHECK(*SliceOfTimestamp(config, start) == 0);
  CHECK(*SliceOfTimestamp(config, start + 3599) == 0);
  CHECK(*SliceOfTimestamp(config, start + 3600) == 1);
  CHECK_FALSE(SliceOfTimestamp(config, start - 1).ok());
  // The largest timestamps still give a slice, without overflowing.
  CHECK(SliceOfTimestamp(config, std::numeric_limits<int64_t>::max()).ok());
  CHECK_FALSE(SliceOfTimestamp(config, std::numeric_limits<int64_t>::min()).ok());
}

TEST_CASE("a first slice before 1970 does not overflow the slice math", "[config][slice]") {
  ClusterConfig config = HourlyConfig(TimestampUnit::kSeconds);
  config.first_slice_s = -1000;
  CHECK(*SliceOfTimestamp(config, -1000) == 0);
  CHECK(*SliceOfTimestamp(config, 2600) == 1);
  const Result<int64_t> huge = SliceOfTimestamp(config, std::numeric_limits<int64_t>::max());
  REQUIRE_FALSE(huge.ok());
  CHECK_THAT(huge.status().message(), Catch::Contains("out of range"));
}

TEST_CASE("the node clock maps to slices whatever the timestamp unit", "[config][slice]") {
  const ClusterConfig config = HourlyConfig(TimestampUnit::kSeconds);
  const int64_t start_ms = config.first_slice_s * 1000;
  CHECK(*SliceOfEpochMillis(config, start_ms + 3600 * 1000 - 1) == 0);
  CHECK(*SliceOfEpochMillis(config, start_ms + 3600 * 1000) == 1);
  CHECK_FALSE(SliceOfEpochMillis(config, start_ms - 1).ok());
}

TEST_CASE("a slice's start is known in seconds and in the configured unit", "[config][slice]") {
  const ClusterConfig ms = HourlyConfig(TimestampUnit::kMilliseconds);
  CHECK(SliceStartSeconds(ms, 0) == ms.first_slice_s);
  CHECK(SliceStartSeconds(ms, 3) == ms.first_slice_s + 3 * 3600);
  CHECK(*SliceStartTimestamp(ms, 3) == (ms.first_slice_s + 3 * 3600) * 1000);
  CHECK(*SliceOfTimestamp(ms, *SliceStartTimestamp(ms, 7)) == 7);
  CHECK(*SliceOfTimestamp(ms, *SliceStartTimestamp(ms, 7) - 1) == 6);

  const ClusterConfig s = HourlyConfig(TimestampUnit::kSeconds);
  CHECK(*SliceStartTimestamp(s, 3) == s.first_slice_s + 3 * 3600);
  CHECK(SliceStartSeconds(s, std::numeric_limits<int64_t>::max()) ==
        std::numeric_limits<int64_t>::max());
  CHECK_FALSE(SliceStartTimestamp(ms, std::numeric_limits<int64_t>::max() / 3600).ok());
}

TEST_CASE("timestamps convert to epoch milliseconds with overflow detection", "[config][slice]") {
  CHECK(*TimestampToEpochMillis(HourlyConfig(TimestampUnit::kMilliseconds), 1234) == 1234);
  const ClusterConfig s = HourlyConfig(TimestampUnit::kSeconds);
  CHECK(*TimestampToEpochMillis(s, 1234) == 1234000);
  CHECK_FALSE(TimestampToEpochMillis(s, std::numeric_limits<int64_t>::max() / 10).ok());
}

}  // namespace rt
