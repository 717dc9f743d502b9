#include "config/utc_time.h"

#include <catch2/catch.hpp>

namespace rt {

TEST_CASE("UTC times parse to epoch seconds", "[config][time]") {
  CHECK(*ParseUtcTime("1970-01-01T00:00:00") == 0);
  CHECK(*ParseUtcTime("2017-05-20T00:00:00") == 1495238400);
  CHECK(*ParseUtcTime("2017-05-20T00:00:00Z") == 1495238400);
  CHECK(*ParseUtcTime("2017-05-20T01:02") == 1495238400 + 3720);
  CHECK(*ParseUtcTime("2020-02-29T23:59:59") == 1583020799);
  CHECK(*ParseUtcTime("1969-12-31T23:59:59") == -1);
}

TEST_CASE("malformed or impossible UTC times are errors", "[config][time]") {
  for (const char* bad :
       {"", "system", "2017-05-20", "2017-05-20 00:00:00", "2017-5-20T00:00:00",
        "2021-02-29T00:00:00", "2017-13-01T00:00:00", "2017-05-20T24:00:00", "2017-05-20T00:60:00",
        "2017-05-20T00:00:00.5", "2017-05-20T00:00:00+01:00"}) {
    INFO(bad);
    const Result<int64_t> parsed = ParseUtcTime(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.status().message(), Catch::Contains("YYYY-MM-DDTHH:MM:SS"));
  }
}

TEST_CASE("UTC times format back to the config form", "[config][time]") {
  CHECK(FormatUtcTime(0) == "1970-01-01T00:00:00");
  CHECK(FormatUtcTime(1495238400 + 3723) == "2017-05-20T01:02:03");
  CHECK(FormatUtcTime(-1) == "1969-12-31T23:59:59");
  CHECK(FormatUtcTime(*ParseUtcTime("2020-02-29T12:34:56")) == "2020-02-29T12:34:56");
}

}  // namespace rt
