#include "server/model/slice_stats.h"

#include <catch2/catch.hpp>

namespace rt {
namespace {

TEST_CASE("slice stats format exactly as the contract says", "[model][stats]") {
  CHECK(FormatSliceStats({3, 5, 7}) == "unique_users,3\nclicks,5\nimpressions,7\n");
  CHECK(FormatSliceStats({}) == "unique_users,0\nclicks,0\nimpressions,0\n");
  std::string out = "x";
  AppendSliceStats(out, {18446744073709551615ull, 0, 1});
  CHECK(out == "xunique_users,18446744073709551615\nclicks,0\nimpressions,1\n");
}

TEST_CASE("slice stats text round-trips", "[model][stats]") {
  const SliceStats stats{123456789, 42, 1000000};
  auto parsed = ParseSliceStats(FormatSliceStats(stats));
  REQUIRE(parsed.ok());
  CHECK(*parsed == stats);
}

TEST_CASE("slice stats parsing accepts rt's unqiue_users spelling and loose line ends",
          "[model][stats]") {
  auto rt_text = ParseSliceStats("unqiue_users,4\nclicks,2\nimpressions,9\n");
  REQUIRE(rt_text.ok());
  CHECK(*rt_text == SliceStats{4, 2, 9});
  auto crlf = ParseSliceStats("clicks,2\r\nimpressions,9\r\nunique_users,4");
  REQUIRE(crlf.ok());
  CHECK(*crlf == SliceStats{4, 2, 9});
}

TEST_CASE("slice stats parsing names what is wrong", "[model][stats]") {
  auto missing = ParseSliceStats("unique_users,1\nclicks,2\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "stats: missing line \"impressions\"");

  auto bad_number = ParseSliceStats("unique_users,1\nclicks,-2\nimpressions,3\n");
  REQUIRE_FALSE(bad_number.ok());
  CHECK(bad_number.status().message() == "stats line 2: bad number \"-2\"");

  auto unknown = ParseSliceStats("users,1\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() == "stats line 1: unknown name \"users\"");

  auto repeated = ParseSliceStats("clicks,1\nclicks,1\n");
  REQUIRE_FALSE(repeated.ok());
  CHECK(repeated.status().message() == "stats line 2: repeated \"clicks\"");

  CHECK_FALSE(ParseSliceStats("unique_users 1\n").ok());
  CHECK_FALSE(ParseSliceStats("unique_users,1x\nclicks,1\nimpressions,1\n").ok());
  CHECK_FALSE(ParseSliceStats("unique_users,99999999999999999999\nclicks,1\nimpressions,1\n").ok());
  CHECK_FALSE(ParseSliceStats("").ok());
}

TEST_CASE("slice stats sum member by member", "[model][stats]") {
  SliceStats total{1, 2, 3};
  total += SliceStats{10, 20, 30};
  CHECK(total == SliceStats{11, 22, 33});
  CHECK(total + SliceStats{1, 1, 1} == SliceStats{12, 23, 34});
}

}  // namespace
}  // namespace rt
