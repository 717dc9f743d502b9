#include "cli/send_summary.h"

#include <catch2/catch.hpp>

namespace rt::cli {
namespace {

using std::chrono::milliseconds;

TEST_CASE("the send summary counts accepted, rejected by status and failed",
          "[cli][send_summary]") {
  SendSummary summary;
  summary.RecordAnswer(202, milliseconds(1), "");
  summary.RecordAnswer(400, milliseconds(1), "400 timestamp: before the first slice");
  summary.RecordAnswer(400, milliseconds(1), "400 other");
  summary.RecordAnswer(503, milliseconds(1), "503 queue full");
  summary.RecordFailure();
  CHECK(summary.sent() == 5);
  CHECK(summary.accepted() == 1);
  CHECK(summary.rejected() == 3);
  CHECK(summary.failed() == 1);
  CHECK(summary.rejected_by_status() == std::map<long, uint64_t>{{400, 2}, {503, 1}});
  CHECK(summary.first_reason_by_status().at(400) == "400 timestamp: before the first slice");
}

TEST_CASE("latency percentiles use the nearest rank", "[cli][send_summary]") {
  SendSummary summary;
  CHECK(summary.LatencyPercentileMs(0.5) == 0.0);
  for (int ms = 100; ms >= 1; --ms) summary.RecordAnswer(202, milliseconds(ms), "");
  CHECK(summary.LatencyPercentileMs(0.50) == 50.0);
  CHECK(summary.LatencyPercentileMs(0.99) == 99.0);
  CHECK(summary.LatencyPercentileMs(1.0) == 100.0);
  CHECK(summary.LatencyPercentileMs(0.0) == 1.0);
}

TEST_CASE("the send summary prints key,value lines", "[cli][send_summary]") {
  SendSummary summary;
  summary.RecordAnswer(202, std::chrono::microseconds(1500), "");
  summary.RecordAnswer(503, std::chrono::microseconds(2500), "503 full");
  CHECK(summary.Format(std::chrono::seconds(2)) ==
        "sent,2\naccepted,1\nrejected,1\nrejected_503,1\nfailed,0\nelapsed_s,2.000\n"
        "rate_per_s,1.0\nlatency_p50_ms,1.500\nlatency_p99_ms,2.500\n");
}

}  // namespace
}  // namespace rt::cli
