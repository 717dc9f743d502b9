#include "sim/report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace rt {
namespace {

SimReport SampleReport() {
  SimReport report;
  report.seed = 3;
  report.simulated_hours = 2;
  report.api_nodes = 2;
  report.workers = 2;
  report.wall_s = 2.0;
  SliceRow good;
  good.slice = 0;
  good.start_s = 1'704'067'200;
  good.oracle = SliceStats{10, 3, 7};
  good.cluster = good.oracle;
  good.perworker = good.oracle;
  good.workers = {"0", "1"};
  SliceRow bad = good;
  bad.slice = 1;
  bad.start_s += 3600;
  bad.cluster = SliceStats{10, 3, 6};
  bad.perworker = bad.cluster;
  report.slices = {good, bad};
  report.hours = {{0, 12, 12, 2, 0}, {1, 9, 8, 1, 1}};
  report.changes = {"hour 1: <worker> 2 added"};
  report.failures = {"slice 1: impressions 7 != 6 (oracle != cluster)"};
  report.rejected = 1;
  return report;
}

TEST_CASE("the report totals come from the hours and slices", "[sim][report]") {
  const SimReport report = SampleReport();
  CHECK(report.events() == 20);
  CHECK(report.gets() == 3);
  CHECK(report.get_errors() == 1);
  CHECK(report.mismatches() == 1);
  CHECK(report.events_per_s() == Approx(10.0));
  CHECK_FALSE(report.ok());
}

TEST_CASE("a slice matches only when the answer and the per-worker sum equal the oracle",
          "[sim][report]") {
  SliceRow row;
  row.oracle = SliceStats{1, 1, 0};
  CHECK_FALSE(row.match());  // no answer
  row.cluster = row.oracle;
  CHECK_FALSE(row.match());  // no per-worker sum
  row.perworker = SliceStats{2, 1, 0};
  CHECK_FALSE(row.match());
  row.perworker = row.oracle;
  CHECK(row.match());
}

TEST_CASE("the slice table shows oracle and cluster side by side", "[sim][report]") {
  const std::string table = FormatSliceTable(SampleReport());
  CHECK(table ==
        "slice  start (UTC)          unique_users o / c  clicks o / c  impressions o / c  workers  "
        "status\n"
        "    0  2024-01-01T00:00:00             10 / 10         3 / 3              7 / 7  [0, 1]   "
        "ok\n"
        "    1  2024-01-01T01:00:00             10 / 10         3 / 3              7 / 6  [0, 1]   "
        "MISMATCH\n");
}

TEST_CASE("the summary line names events, slices, mismatches, hours and rates", "[sim][report]") {
  CHECK(FormatSummaryLine(SampleReport()) ==
        "simulate: FAILED: 20 events, 2 slices, 1 mismatches, 2 simulated hours, 2.0 s wall, "
        "10 events/s");
}

TEST_CASE("the JSON report holds every slice and the verdict", "[sim][report]") {
  const auto json = nlohmann::json::parse(FormatReportJson(SampleReport()));
  CHECK(json["ok"] == false);
  CHECK(json["events"] == 20);
  CHECK(json["mismatches"] == 1);
  REQUIRE(json["slices"].size() == 2);
  CHECK(json["slices"][1]["cluster"]["impressions"] == 6);
  CHECK(json["slices"][1]["oracle"]["impressions"] == 7);
  CHECK(json["slices"][1]["match"] == false);
  CHECK(json["slices"][0]["start"] == "2024-01-01T00:00:00");
  CHECK(json["failures"].size() == 1);
  CHECK(json["hours"][1]["accepted"] == 8);
}

TEST_CASE("the HTML report is self-contained and escapes text", "[sim][report]") {
  const std::string html = FormatReportHtml(SampleReport());
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("&lt;worker&gt;") != std::string::npos);
  CHECK(html.find("<worker>") == std::string::npos);
  CHECK(html.find("MISMATCH") != std::string::npos);
  CHECK(html.find("</html>") != std::string::npos);
}

}  // namespace
}  // namespace rt
