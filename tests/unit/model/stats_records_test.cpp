#include "server/model/stats_records.h"

#include <catch2/catch.hpp>

namespace rt {

TEST_CASE("the three lines of a query answer parse into one record", "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records =
      ParseStatsRecords("unique_users,3\nclicks,4\nimpressions,5\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK(records->front() == StatsRecord{std::nullopt, "", SliceStats{3, 4, 5}});
}

TEST_CASE("rt's unqiue_users spelling, CRLF and no final newline are accepted",
          "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records =
      ParseStatsRecords("unqiue_users,7\r\nclicks,0\r\nimpressions,1");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK(records->front().stats == SliceStats{7, 0, 1});
}

TEST_CASE("a perworker answer parses into one record per worker", "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(
      "slice,9\nworker,http://127.0.0.1:9000/worker\nunique_users,1\nclicks,2\nimpressions,3\n"
      "slice,9\nworker,http://127.0.0.1:9001/worker\nunique_users,4\nclicks,5\nimpressions,6\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK(records->at(0) == StatsRecord{9, "http://127.0.0.1:9000/worker", SliceStats{1, 2, 3}});
  CHECK(records->at(1) == StatsRecord{9, "http://127.0.0.1:9001/worker", SliceStats{4, 5, 6}});
}

TEST_CASE("an allslices answer parses into one record per slice", "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(
      "slice,0\nunique_users,1\nclicks,2\nimpressions,3\n"
      "slice,2\nunique_users,4\nclicks,5\nimpressions,6\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK(records->at(1) == StatsRecord{2, "", SliceStats{4, 5, 6}});
}

TEST_CASE("a slice's start line, when asked for, lands in its records", "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(
      "slice,9\nstart,2020-01-01T09:00:00\nworker,http://127.0.0.1:9000/worker\n"
      "unique_users,1\nclicks,2\nimpressions,3\n"
      "slice,10\nstart,2020-01-01T10:00:00\nunique_users,4\nclicks,5\nimpressions,6\n");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK(records->at(0) ==
        StatsRecord{9, "http://127.0.0.1:9000/worker", SliceStats{1, 2, 3}, "2020-01-01T09:00:00"});
  CHECK(records->at(1) == StatsRecord{10, "", SliceStats{4, 5, 6}, "2020-01-01T10:00:00"});
  const auto empty =
      ParseStatsRecords("slice,1\nstart,\nunique_users,1\nclicks,2\nimpressions,3\n");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message() == "stats: line 2: empty start");
}

TEST_CASE("an empty answer has no records", "[model][stats_records]") {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords("");
  REQUIRE(records.ok());
  CHECK(records->empty());
}

TEST_CASE("malformed answers are errors naming the line", "[model][stats_records]") {
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

TEST_CASE("perworker records sum per slice", "[model][stats_records]") {
  const std::vector<StatsRecord> records = {
      {3, "a", {1, 2, 3}}, {3, "b", {4, 5, 6}}, {4, "a", {1, 1, 1}}, {std::nullopt, "", {9, 9, 9}}};
  const std::map<int64_t, SliceStats> sums = SumBySlice(records);
  REQUIRE(sums.size() == 2);
  CHECK(sums.at(3) == SliceStats{5, 7, 9});
  CHECK(sums.at(4) == SliceStats{1, 1, 1});
}

}  // namespace rt
