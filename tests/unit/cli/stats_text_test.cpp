#include "cli/stats_text.h"

#include <catch2/catch.hpp>

namespace rt::cli {
namespace {

TEST_CASE("the three lines of a query answer parse into one record", "[cli][stats_text]") {
  Result<std::vector<StatsRecord>> records =
      ParseStatsRecords("unique_users,3\nclicks,4\nimpressions,5\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK(records->front() == StatsRecord{std::nullopt, "", SliceStats{3, 4, 5}});
}

TEST_CASE("rt's unqiue_users spelling, CRLF and no final newline are accepted",
          "[cli][stats_text]") {
  Result<std::vector<StatsRecord>> records =
      ParseStatsRecords("unqiue_users,7\r\nclicks,0\r\nimpressions,1");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK(records->front().stats == SliceStats{7, 0, 1});
}

TEST_CASE("a perworker answer parses into one record per worker", "[cli][stats_text]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(
      "slice,9\nworker,http://127.0.0.1:9000/worker\nunique_users,1\nclicks,2\nimpressions,3\n"
      "slice,9\nworker,http://127.0.0.1:9001/worker\nunique_users,4\nclicks,5\nimpressions,6\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK(records->at(0) == StatsRecord{9, "http://127.0.0.1:9000/worker", SliceStats{1, 2, 3}});
  CHECK(records->at(1) == StatsRecord{9, "http://127.0.0.1:9001/worker", SliceStats{4, 5, 6}});
}

TEST_CASE("an allslices answer parses into one record per slice", "[cli][stats_text]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(
      "slice,0\nunique_users,1\nclicks,2\nimpressions,3\n"
      "slice,2\nunique_users,4\nclicks,5\nimpressions,6\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK(records->at(1) == StatsRecord{2, "", SliceStats{4, 5, 6}});
}

TEST_CASE("an empty answer has no records", "[cli][stats_text]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords("");
  REQUIRE(records.ok());
  CHECK(records->empty());
}

TEST_CASE("malformed answers are errors naming the line", "[cli][stats_text]") {
  auto error = [](std::string_view text) {
    Result<std::vector<StatsRecord>> records = ParseStatsRecords(text);
    REQUIRE_FALSE(records.ok());
    return records.status().message();
  };
  CHECK(error("unique_users,1\nclicks,2\n") == "stats: line 2: block has no impressions");
  CHECK(error("unique_users,1\nclicks,x\nimpressions,3\n") == "stats: line 2: bad clicks \"x\"");
  CHECK(error("unique_users,1\nclicks,-2\nimpressions,3\n") == "stats: line 2: bad clicks \"-2\"");
  CHECK(error("users,1\n") == "stats: line 1: unknown key \"users\"");
  CHECK(error("hello\n") == "stats: line 1: expected key,value, got \"hello\"");
  CHECK(error("slice,1\nunique_users,1\nslice,2\n") == "stats: line 3: block has no clicks");
}

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

}  // namespace
}  // namespace rt::cli
