#include "cli/stats_text.h"

#include <catch2/catch.hpp>

namespace rt::cli {
namespace {

TEST_CASE("stats format as one JSON object in the text's order", "[cli][stats_text]") {
  CHECK(FormatStatsJson(SliceStats{1, 2, 3}) == R"({"unique_users":1,"clicks":2,"impressions":3})");
}

TEST_CASE("records format as a JSON array with slice and worker when present",
          "[cli][stats_text]") {
  CHECK(FormatRecordsJson({}) == "[]");
  CHECK(FormatRecordsJson({StatsRecord{4, "http://w/worker", SliceStats{1, 2, 3}}}) ==
        R"([{"slice":4,"worker":"http://w/worker","unique_users":1,"clicks":2,"impressions":3}])");
  CHECK(FormatRecordsJson({StatsRecord{4, "", SliceStats{1, 2, 3}}}) ==
        R"([{"slice":4,"unique_users":1,"clicks":2,"impressions":3}])");
}

TEST_CASE("perworker records format as an aligned table with a total row", "[cli][stats_text]") {
  const std::vector<StatsRecord> records = {
      StatsRecord{12, "http://127.0.0.1:9000/worker", SliceStats{10, 3, 120}},
      StatsRecord{12, "http://127.0.0.1:9001/worker", SliceStats{5, 0, 7}}};
  CHECK(FormatRecordsTable(records, true) ==
        "slice  worker                        unique_users  clicks  impressions\n"
        "12     http://127.0.0.1:9000/worker            10       3          120\n"
        "12     http://127.0.0.1:9001/worker             5       0            7\n"
        "total                                          15       3          127\n");
}

TEST_CASE("allslices records format as a table without a total", "[cli][stats_text]") {
  const std::vector<StatsRecord> records = {StatsRecord{0, "", SliceStats{1, 2, 3}},
                                            StatsRecord{101, "", SliceStats{4, 5, 6}}};
  CHECK(FormatRecordsTable(records, false) ==
        "slice  unique_users  clicks  impressions\n"
        "0                 1       2            3\n"
        "101               4       5            6\n");
}

TEST_CASE("records with a start show it beside the slice, in JSON and in tables",
          "[cli][stats_text]") {
  const std::vector<StatsRecord> perworker = {
      StatsRecord{12, "http://127.0.0.1:9000/worker", SliceStats{10, 3, 120},
                  "2020-01-01T12:00:00"},
      StatsRecord{12, "http://127.0.0.1:9001/worker", SliceStats{5, 0, 7}, "2020-01-01T12:00:00"}};
  CHECK(FormatRecordsTable(perworker, true) ==
        "slice  start_utc            worker                        unique_users  clicks  "
        "impressions\n"
        "12     2020-01-01T12:00:00  http://127.0.0.1:9000/worker            10       3          "
        "120\n"
        "12     2020-01-01T12:00:00  http://127.0.0.1:9001/worker             5       0            "
        "7\n"
        "total                                                               15       3          "
        "127\n");
  const std::vector<StatsRecord> all = {
      StatsRecord{0, "", SliceStats{1, 2, 3}, "2020-01-01T00:00:00"},
      StatsRecord{101, "", SliceStats{4, 5, 6}, "2020-01-05T05:00:00"}};
  CHECK(FormatRecordsTable(all, false) ==
        "slice  start_utc            unique_users  clicks  impressions\n"
        "0      2020-01-01T00:00:00             1       2            3\n"
        "101    2020-01-05T05:00:00             4       5            6\n");
  CHECK(
      FormatRecordsJson({all[1]}) ==
      R"([{"slice":101,"start":"2020-01-05T05:00:00","unique_users":4,"clicks":5,"impressions":6}])");
}

}  // namespace
}  // namespace rt::cli
