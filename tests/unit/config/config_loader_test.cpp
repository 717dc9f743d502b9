#include "config/config_loader.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "config/replica_set.h"
#include "config/utc_time.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rt {
namespace {

constexpr int64_t kStartMs = 1700000000123;

std::string ReadSource(const std::string& relative) {
  std::ifstream in(testing::SourceDir() + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* const kMinimal = R"({
  "api-nodes": {"0": "http://127.0.0.1:8080/analytics"},
  "worker-nodes": {"0": "http://127.0.0.1:9000/worker", "1": "http://127.0.0.1:9001/worker"},
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",
  "routing": [{"slice": 0, "nodes": ["0", "1"]}]
})";

// The problem of a report at `path`, or nullptr.
const ConfigProblem* Find(const ConfigReport& report, const std::string& path) {
  for (const ConfigProblem& problem : report.problems) {
    if (problem.path == path) return &problem;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the rt README config example loads with its comments", "[config][loader]") {
  const std::string text = ReadSource("examples/rt-readme-cluster.json");
  REQUIRE(text.find("/* Guess! */") != std::string::npos);
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE(report.ok());
  CHECK(report.problems.empty());
  const ClusterConfig& config = *report.config;
  CHECK(config.api_nodes.size() == 2);
  CHECK(config.worker_nodes.at("3") == "http://localhost:9003/worker");
  CHECK(config.slice_length_s == 3600);
  CHECK(config.first_slice_s == *ParseUtcTime("2017-05-20T00:00:00"));
  REQUIRE(config.routing.size() == 4);
  CHECK(config.routing[2] == RoutingEntry{3, SetsOfOne({"0", "1", "2", "3"})});
  CHECK(config.routing[3] == RoutingEntry{100, SetsOfOne({"0"})});
}

TEST_CASE("the local cluster example loads", "[config][loader]") {
  const Result<ClusterConfig> config =
      LoadClusterConfig(testing::SourceDir() + "/examples/local-cluster.json", kStartMs);
  REQUIRE(config.ok());
  CHECK(config->api_nodes.at("0") == "http://127.0.0.1:8080/analytics");
  CHECK(config->worker_nodes.size() == 2);
  CHECK(config->timestamp_unit == TimestampUnit::kMilliseconds);
}

TEST_CASE("optional keys take their defaults", "[config][loader]") {
  const Result<ClusterConfig> config = ParseClusterConfig(kMinimal, kStartMs);
  REQUIRE(config.ok());
  CHECK(config->timestamp_unit == TimestampUnit::kMilliseconds);
  CHECK(config->cache_ttl_ms == 1000);
  CHECK(config->reload_interval_s == 30);
  CHECK(config->max_future_s == 300);
  CHECK(config->max_late_slices == 24);
  CHECK_FALSE(config->first_slice_is_system);
}

TEST_CASE("max-late-slices null means unlimited", "[config][loader]") {
  std::string text = kMinimal;
  text.insert(text.rfind('}'), R"(, "max-late-slices": null)");
  const Result<ClusterConfig> config = ParseClusterConfig(text, kStartMs);
  REQUIRE(config.ok());
  CHECK_FALSE(config->max_late_slices.has_value());
}

TEST_CASE("optional keys are read when given", "[config][loader]") {
  std::string text = kMinimal;
  text.insert(text.rfind('}'), R"(, "timestamp-unit": "seconds", "cache-ttl-ms": 250,
    "reload-interval-s": 5, "max-future-s": 60, "max-late-slices": 48
  )");
  const Result<ClusterConfig> config = ParseClusterConfig(text, kStartMs);
  REQUIRE(config.ok());
  CHECK(config->timestamp_unit == TimestampUnit::kSeconds);
  CHECK(config->cache_ttl_ms == 250);
  CHECK(config->reload_interval_s == 5);
  CHECK(config->max_future_s == 60);
  CHECK(config->max_late_slices == 48);
}

TEST_CASE("first-slice system is the process start, rounded down to the second",
          "[config][loader]") {
  std::string text = kMinimal;
  text.replace(text.find("\"2020-01-01T00:00:00\""), 21, "\"system\"");
  const Result<ClusterConfig> config = ParseClusterConfig(text, kStartMs);
  REQUIRE(config.ok());
  CHECK(config->first_slice_is_system);
  CHECK(config->first_slice_s == kStartMs / 1000);
}

TEST_CASE("a JSON syntax error names its line", "[config][loader]") {
  const ConfigReport report = CheckClusterConfigText("{\n  \"api-nodes\": {\n  ,\n}\n", kStartMs);
  REQUIRE_FALSE(report.ok());
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].line == 3);
  CHECK_THAT(report.problems[0].message, Catch::StartsWith("JSON syntax error"));
}

TEST_CASE("an unterminated comment is named with its line, not quoted", "[config][loader]") {
  const std::string text = "{\n  \"api-nodes\": {},\n  /* left open\n  \"worker-nodes\": {}\n}\n";
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].line == 3);
  CHECK_THAT(report.problems[0].message, Catch::Contains("unterminated /* comment"));
  CHECK_THAT(report.problems[0].message, !Catch::Contains("<U+000A>"));
  CHECK_THAT(report.problems[0].message, !Catch::Contains("worker-nodes"));
}

TEST_CASE("a trailing comma is named with the comma's line", "[config][loader]") {
  const std::string in_array =
      "{\n  \"routing\": [\n    {\"slice\": 0, \"nodes\": [\"0\"]},\n  ]\n}\n";
  const ConfigReport array_report = CheckClusterConfigText(in_array, kStartMs);
  REQUIRE(array_report.problems.size() == 1);
  CHECK(array_report.problems[0].line == 3);
  CHECK_THAT(array_report.problems[0].message, Catch::Contains("trailing comma before ']'"));

  // In an object, with a comment between the comma and the brace.
  const std::string in_object = "{\n  \"length-of-time-slice\": 3600, // hourly\n}\n";
  const ConfigReport object_report = CheckClusterConfigText(in_object, kStartMs);
  REQUIRE(object_report.problems.size() == 1);
  CHECK(object_report.problems[0].line == 2);
  CHECK_THAT(object_report.problems[0].message, Catch::Contains("trailing comma before '}'"));

  // A comma inside a string is not one.
  const ConfigReport string_report = CheckClusterConfigText("{\n  \"a\": \"x,\" ]\n}\n", kStartMs);
  REQUIRE(string_report.problems.size() == 1);
  CHECK_THAT(string_report.problems[0].message, !Catch::Contains("trailing comma"));
}

// Found by tests/fuzz/fuzz_config: nlohmann throws out_of_range, not parse_error, for
// a number beyond a double's range, and it escaped as an exception (rtctl aborted).
TEST_CASE("a number too large for a double is an error, not an exception", "[config][loader]") {
  const std::string text = "{\n  \"slice-length\": 1e999\n}\n";
  ConfigReport report;
  REQUIRE_NOTHROW(report = CheckClusterConfigText(text, kStartMs));
  REQUIRE_FALSE(report.ok());
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].is_error());
  CHECK(report.problems[0].path.empty());
  const Result<ClusterConfig> parsed = ParseClusterConfig(text, kStartMs);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("an empty text and a non-object root are errors", "[config][loader]") {
  CHECK_FALSE(CheckClusterConfigText("", kStartMs).ok());
  const ConfigReport report = CheckClusterConfigText("[1, 2]", kStartMs);
  REQUIRE(report.problems.size() == 1);
  CHECK_THAT(report.problems[0].message, Catch::Contains("must be a JSON object"));
}

TEST_CASE("missing required keys are errors without a line", "[config][loader]") {
  const ConfigReport report = CheckClusterConfigText("{\"routing\": []}", kStartMs);
  REQUIRE_FALSE(report.ok());
  for (const char* key : {"api-nodes", "worker-nodes", "length-of-time-slice", "first-slice"}) {
    const ConfigProblem* problem = Find(report, key);
    REQUIRE(problem != nullptr);
    CHECK(problem->is_error());
    CHECK(problem->line == 0);
    CHECK(problem->message == "missing required key");
  }
}

TEST_CASE("an unknown key is a warning that suggests the closest known key", "[config][loader]") {
  std::string text = kMinimal;
  text.insert(text.rfind('}'), ",\n  \"reload-interval\": 10, \"colour\": 1\n");
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE(report.ok());  // warnings only
  const ConfigProblem* typo = Find(report, "reload-interval");
  REQUIRE(typo != nullptr);
  CHECK_FALSE(typo->is_error());
  CHECK(typo->line == 8);
  CHECK_THAT(typo->message, Catch::Contains("did you mean \"reload-interval-s\""));
  const ConfigProblem* unrelated = Find(report, "colour");
  REQUIRE(unrelated != nullptr);
  CHECK(unrelated->message == "unknown key");
  CHECK(typo->kind == ConfigProblem::Kind::kUnknownKey);
  CHECK(unrelated->kind == ConfigProblem::Kind::kUnknownKey);
  for (const ConfigProblem& other : report.problems) {
    if (&other != typo && &other != unrelated) CHECK(other.kind == ConfigProblem::Kind::kOther);
  }
}

TEST_CASE("an unknown worker id is reported at its path and line", "[config][loader]") {
  const std::string text = R"({
  "api-nodes": {"0": "http://127.0.0.1:8080/analytics"},
  "worker-nodes": {"0": "http://127.0.0.1:9000/worker"},
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",
  "routing": [
    {"slice": 0, "nodes": ["0"]},
    {"slice": 5,
     "nodes": ["9"]}
  ]
})";
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE_FALSE(report.ok());
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].path == "routing[1].nodes[0]");
  CHECK(report.problems[0].line == 9);
  CHECK(report.problems[0].message == "unknown worker id \"9\"");
  const Result<ClusterConfig> parsed = ParseClusterConfig(text, kStartMs);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().message() == "config:9: routing[1].nodes[0]: unknown worker id \"9\"");
}

TEST_CASE("wrong value types are errors and are reported once", "[config][loader]") {
  const std::string text = R"({
  "api-nodes": {"0": "http://127.0.0.1:8080/analytics"},
  "worker-nodes": {"0": 9000},
  "length-of-time-slice": "3600",
  "first-slice": "2020-01-01T00:00:00",
  "routing": [{"slice": 0.5, "nodes": [0]}],
  "max-late-slices": null
})";
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE_FALSE(report.ok());
  CHECK(Find(report, "worker-nodes.0") != nullptr);
  CHECK(Find(report, "length-of-time-slice") != nullptr);
  CHECK(Find(report, "routing[0].slice") != nullptr);
  const ConfigProblem* node = Find(report, "routing[0].nodes[0]");
  REQUIRE(node != nullptr);
  CHECK_THAT(node->message, Catch::Contains("must be a string"));
  CHECK(report.problems.size() == 4);  // no follow-on "unknown worker" or "empty routing"
}

TEST_CASE("an unparsable first-slice and a bad timestamp-unit are errors", "[config][loader]") {
  std::string text = kMinimal;
  text.replace(text.find("2020-01-01T00:00:00"), 19, "2020-01-01 00:00");
  text.insert(text.rfind('}'), ", \"timestamp-unit\": \"minutes\"\n");
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE_FALSE(report.ok());
  const ConfigProblem* first = Find(report, "first-slice");
  REQUIRE(first != nullptr);
  CHECK(first->line == 5);
  CHECK_THAT(first->message, Catch::Contains("unparsable"));
  REQUIRE(Find(report, "timestamp-unit") != nullptr);
}

TEST_CASE("a key repeated in one object is an error", "[config][loader]") {
  std::string text = kMinimal;
  text.replace(text.find("\"1\": \"http://127.0.0.1:9001"), 3, "\"0\"");
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE_FALSE(report.ok());
  const ConfigProblem* duplicate = Find(report, "worker-nodes.0");
  REQUIRE(duplicate != nullptr);
  CHECK(duplicate->line == 3);
  CHECK_THAT(duplicate->message, Catch::Contains("repeated"));
}

TEST_CASE("an unreadable file is one error", "[config][loader]") {
  const ConfigReport report = CheckClusterConfigFile("/nonexistent/rt/cluster.json", kStartMs);
  REQUIRE(report.problems.size() == 1);
  CHECK_THAT(report.problems[0].message, Catch::Contains("cannot read"));
  const Result<ClusterConfig> loaded = LoadClusterConfig("/nonexistent/rt/cluster.json", kStartMs);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kIoError);
}

TEST_CASE("problems are ordered by line and the first error is summarized", "[config][loader]") {
  const std::string text = R"({
  "api-nodes": {"0": "ftp://127.0.0.1:8080/analytics"},
  "worker-nodes": {"0": "http://127.0.0.1:9000/worker"},
  "length-of-time-slice": 0,
  "first-slice": "2020-01-01T00:00:00",
  "routing": [{"slice": 0, "nodes": []}]
})";
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  REQUIRE(report.problems.size() == 3);
  CHECK(report.problems[0].line == 2);
  CHECK(report.problems[1].line == 4);
  CHECK(report.problems[2].path == "routing[0].nodes");
  const Result<ClusterConfig> parsed = ParseClusterConfig(text, kStartMs);
  REQUIRE_FALSE(parsed.ok());
  CHECK_THAT(parsed.status().message(), Catch::StartsWith("config:2: api-nodes.0: bad URL"));
  CHECK_THAT(parsed.status().message(), Catch::EndsWith("(and 2 more errors)"));
}

}  // namespace rt

namespace rt {
namespace {

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("JSON nested deeper than 64 levels is an error naming its line", "[config][loader]") {
  // 100,000 levels: a recursive step after the parse would exhaust the stack.
  for (const std::string& text :
       {"{\n\"routing\":\n" + Nested(100'000) + "}", "{\n\"routing\":\n" + Nested(65) + "}"}) {
    const ConfigReport report = CheckClusterConfigText(text, kStartMs);
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems[0].is_error());
    CHECK(report.problems[0].line == 3);
    CHECK_THAT(report.problems[0].message, Catch::Contains("deeper than 64"));
    CHECK_FALSE(ParseClusterConfig(text, kStartMs).ok());
  }
  // 64 levels are within the cap: the error is about what the value is, not its depth.
  const ConfigReport at_cap = CheckClusterConfigText("{\"routing\": " + Nested(63) + "}", kStartMs);
  for (const ConfigProblem& problem : at_cap.problems) {
    CHECK_THAT(problem.message, !Catch::Contains("deeper"));
  }
}

TEST_CASE("brackets inside strings and comments do not count as nesting", "[config][loader]") {
  std::string text = kMinimal;
  text.insert(1, "/* " + std::string(100, '[') + " */ // " + std::string(100, '{') + "\n");
  text.insert(text.rfind('}'), ", \"x\": \"" + std::string(100, '[') + "\\\"[[\"");
  const ConfigReport report = CheckClusterConfigText(text, kStartMs);
  CHECK(report.ok());
}

TEST_CASE("a config file over 4 MiB is refused before it is parsed", "[config][loader]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("big.json");
  {
    std::ofstream out(path);
    out << kMinimal;
    out << std::string((4 << 20) + 1, ' ');
  }
  const Result<ClusterConfig> loaded = LoadClusterConfig(path, kStartMs);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == Status::Code::kIoError);
  CHECK_THAT(loaded.status().message(), Catch::Contains("larger than the 4 MiB"));
  const ConfigReport report = CheckClusterConfigFile(path, kStartMs);
  REQUIRE(report.problems.size() == 1);
  CHECK_THAT(report.problems[0].message, Catch::Contains("larger than the 4 MiB"));

  // A device with no size is read only up to the cap.
  const Result<ClusterConfig> endless = LoadClusterConfig("/dev/zero", kStartMs);
  REQUIRE_FALSE(endless.ok());
  CHECK_THAT(endless.status().message(), Catch::Contains("larger than the 4 MiB"));

  // Just under the cap still loads.
  {
    std::ofstream out(path, std::ios::trunc);
    out << kMinimal;
    out << std::string((4 << 20) - std::string(kMinimal).size(), ' ');
  }
  CHECK(LoadClusterConfig(path, kStartMs).ok());
}

}  // namespace rt
