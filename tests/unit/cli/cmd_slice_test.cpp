#include "cli/cmd_slice.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/fixed_clock.h"
#include "tests/support/temp_dir.h"

namespace rt::cli {
namespace {

using testing::ClosedPortUrl;
using testing::FakeHttpServer;
using testing::FixedClock;

// 2020-01-01T00:00:00Z; slices of an hour. kNowMs is 2020-01-02T10:30:00Z: slice 34.
constexpr int64_t kNowMs = (1577836800LL + 34 * 3600 + 1800) * 1000;

struct Capture {
  std::ostringstream out;
  std::ostringstream err;
  FixedClock clock{kNowMs};
  ClientIo io{out, err, clock, false};
};

// A config file whose one worker is at `worker_origin` (http://127.0.0.1:PORT).
std::string WriteConfig(const rt::testing::TempDir& dir, const std::string& worker_origin,
                        const std::string& extra = "") {
  const std::string path = dir.Sub("cluster.json");
  std::ofstream(path) << R"({
  "api-nodes": {"0": "http://127.0.0.1:8080/analytics"},
  "worker-nodes": {"0": ")"
                      << worker_origin << R"(/worker"},
  "length-of-time-slice": 3600,
  "first-slice": "2020-01-01T00:00:00",)"
                      << extra << R"(
  "routing": [{"slice": 0, "nodes": ["0"]}]
})";
  return path;
}

}  // namespace

TEST_CASE("slice prints the slice of a time, its start and end, and where changes are safe",
          "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, "http://127.0.0.1:9");
  options.offline = true;
  options.timestamp = "2020-01-01T05:59:59";
  REQUIRE(RunSlice(options, capture.io) == kExitOk);
  // now (slice 34, half past) + 300 + 30 s is still slice 34.
  CHECK(capture.out.str() ==
        "slice 5\nstart 2020-01-01T05:00:00Z\nend 2020-01-01T06:00:00Z\nheld-through unknown\n"
        "safe-from 35\n");

  Capture millis;
  options.timestamp = std::to_string((1577836800LL + 6 * 3600) * 1000);
  REQUIRE(RunSlice(options, millis.io) == kExitOk);
  CHECK(millis.out.str().rfind("slice 6\nstart 2020-01-01T06:00:00Z\n", 0) == 0);

  Capture now;
  options.timestamp.clear();
  REQUIRE(RunSlice(options, now.io) == kExitOk);
  CHECK(now.out.str().rfind("slice 34\n", 0) == 0);
}

TEST_CASE("slice --field prints only that line's value, for scripts", "[cli][slice]") {
  rt::testing::TempDir dir;
  SliceOptions options;
  options.config = WriteConfig(dir, "http://127.0.0.1:9");
  options.offline = true;
  const std::pair<std::string, std::string> expected[] = {{"slice", "34\n"},
                                                          {"start", "2020-01-02T10:00:00Z\n"},
                                                          {"end", "2020-01-02T11:00:00Z\n"},
                                                          {"held-through", "unknown\n"},
                                                          {"safe-from", "35\n"}};
  REQUIRE(std::size(expected) == std::size(kSliceFields));
  for (const auto& [field, value] : expected) {
    INFO(field);
    Capture capture;
    options.field = field;
    REQUIRE(RunSlice(options, capture.io) == kExitOk);
    CHECK(capture.out.str() == value);
  }
}

TEST_CASE("slice counts the slices the workers hold in safe-from", "[cli][slice]") {
  FakeHttpServer worker([](const testing::TestRequest& request) {
    if (request.target() != "/worker/slices") return FakeHttpServer::Text(404, "no");
    if (request["X-Rt-Signature"].size() != 64 || request["X-Rt-Timestamp"].empty()) {
      return FakeHttpServer::Text(401, "missing signature");
    }
    return FakeHttpServer::Text(200, R"({"slices": [
      {"slice": 3, "unique_users": 1, "clicks": 1, "impressions": 0},
      {"slice": 40, "unique_users": 2, "clicks": 0, "impressions": 2}]})");
  });
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, worker.url());
  options.worker_key = WorkerKey::Derive("cmd-slice-test-secret");
  options.json = true;
  REQUIRE(RunSlice(options, capture.io) == kExitOk);
  const nlohmann::json out = nlohmann::json::parse(capture.out.str());
  CHECK(out.at("slice") == 34);
  CHECK(out.at("held_through_slice") == 40);
  CHECK(out.at("safe_from_slice") == 41);
  CHECK(out.at("start") == "2020-01-02T10:00:00Z");
  CHECK(capture.err.str().empty());
}

TEST_CASE("slice warns about a worker it cannot ask and goes on", "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, ClosedPortUrl());
  options.worker_key = WorkerKey::Derive("cmd-slice-test-secret");
  REQUIRE(RunSlice(options, capture.io) == kExitOk);
  CHECK_THAT(capture.err.str(), Catch::StartsWith("rtctl slice: warning: could not ask worker 0"));
  CHECK_THAT(capture.err.str(), Catch::Contains("not protected by this check"));
  CHECK_THAT(capture.out.str(), Catch::Contains("held-through unknown\nsafe-from 35\n"));
}

TEST_CASE("slice refuses a time before the first slice, naming epoch seconds", "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, "http://127.0.0.1:9");
  options.offline = true;
  options.timestamp = "1577923200";  // 2020-01-02 in seconds: 1970 in milliseconds
  CHECK(RunSlice(options, capture.io) == kExitUsage);
  CHECK_THAT(capture.err.str(), Catch::Contains("it looks like epoch seconds, not milliseconds"));
  CHECK(capture.out.str().empty());

  Capture garbage;
  options.timestamp = "yesterday";
  CHECK(RunSlice(options, garbage.io) == kExitUsage);
  CHECK_THAT(garbage.err.str(), Catch::Contains("--timestamp must be epoch milliseconds"));
}

TEST_CASE("slice reads --timestamp in seconds for a cluster with timestamp-unit seconds",
          "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, "http://127.0.0.1:9", R"("timestamp-unit": "seconds",)");
  options.offline = true;
  options.timestamp = "1577923200";  // 2020-01-02T00:00:00
  REQUIRE(RunSlice(options, capture.io) == kExitOk);
  CHECK(capture.out.str().rfind("slice 24\n", 0) == 0);
}

TEST_CASE("slice without a worker key and without --offline is a usage error", "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = WriteConfig(dir, ClosedPortUrl());
  CHECK(RunSlice(options, capture.io) == kExitUsage);
  CHECK_THAT(capture.err.str(), Catch::Contains("--worker-key-file") &&
                                    Catch::Contains("RT_WORKER_KEY") &&
                                    Catch::Contains("--offline"));
  CHECK(capture.out.str().empty());
}

TEST_CASE("slice fails with exit 1 on a config that does not load", "[cli][slice]") {
  rt::testing::TempDir dir;
  Capture capture;
  SliceOptions options;
  options.config = dir.Sub("missing.json");
  CHECK(RunSlice(options, capture.io) == kExitFailure);
  CHECK_THAT(capture.err.str(), Catch::StartsWith("rtctl slice: config "));
}

}  // namespace rt::cli
