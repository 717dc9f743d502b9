// Signed worker requests against a real in-process WorkerNode over real HTTP on
// 127.0.0.1 (docs/design.md §3): unsigned or badly signed requests change nothing
// and learn nothing.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/model/slice_stats.h"
#include "server/model/worker_protocol.h"
#include "server/worker/worker_node.h"
#include "tests/support/http_test_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

namespace bhttp = boost::beast::http;
using testing::TestRequest;
using testing::TestResponse;

constexpr int64_t kNowMs = 1'764'000'000'000;

// A clock tests move; read by the worker from its I/O threads.
class MovableClock final : public Clock {
 public:
  explicit MovableClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

std::string Key(int n) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", n);
  return hex;
}

// `count` events of slice 1, users from..from+count-1, clicks.
std::string Body(int from, int count) {
  std::string body;
  for (int i = from; i < from + count; ++i) body += "1 " + Key(i) + " c\n";
  return body;
}

struct Worker {
  Worker() {
    WorkerNodeOptions options;
    options.data_dir = dir.Sub("data");
    options.worker_key = key;
    options.signing_clock = &clock;
    options.server.threads = 2;
    auto started = WorkerNode::Start(options);
    REQUIRE(started.ok());
    node = std::move(started).value();
  }

  uint16_t port() const { return node->endpoint().port(); }

  TestRequest BatchRequest(const std::string& stream, uint64_t seq, std::string body) const {
    return testing::MakeTestRequest(bhttp::verb::post, "/worker/batch", std::move(body),
                                    {{"X-Rt-Stream", stream}, {"X-Rt-Seq", std::to_string(seq)}});
  }

  // Sends `request` as it is (signed or not) on a fresh connection.
  TestResponse Send(TestRequest request) {
    testing::HttpTestConnection connection(port());
    REQUIRE(connection.connected());
    std::optional<TestResponse> response = connection.Exchange(std::move(request));
    REQUIRE(response);
    return std::move(*response);
  }

  TestResponse SendSigned(TestRequest request, const WorkerKey& with) {
    testing::SignTestRequest(request, with, &clock);
    return Send(std::move(request));
  }
  TestResponse SendSigned(TestRequest request) { return SendSigned(std::move(request), key); }

  testing::TempDir dir;
  const WorkerKey key = testing::TestWorkerKey();
  MovableClock clock{kNowMs};
  std::unique_ptr<WorkerNode> node;
};

void CheckUnauthorized(const TestResponse& response) {
  CHECK(response.result() == bhttp::status::unauthorized);
  CHECK(response[kErrorHeader] == kErrorUnauthorized);
  CHECK(response.find(kExpectedSeqHeader) == response.end());
}

TEST_CASE("an unsigned batch is refused 401 and moves neither counts nor the stream's mark",
          "[worker][auth]") {
  Worker w;
  REQUIRE(w.SendSigned(w.BatchRequest("api-0:1", 1, Body(0, 2))).result() == bhttp::status::ok);
  // An attacker's batch continuing the real stream: 1000 events from seq 3.
  const TestResponse forged = w.Send(w.BatchRequest("api-0:1", 3, Body(100, 1000)));
  CheckUnauthorized(forged);
  CHECK(w.node->store().StatsFor(1) == SliceStats{2, 2, 0});
  // The real API node's next events (seq 3) are applied, not skipped as duplicates.
  const TestResponse real = w.SendSigned(w.BatchRequest("api-0:1", 3, Body(2, 1)));
  REQUIRE(real.result() == bhttp::status::ok);
  CHECK(real.body().find("\"applied\":1") != std::string::npos);
  CHECK(real.body().find("\"duplicates\":0") != std::string::npos);
  CHECK(w.node->store().StatsFor(1) == SliceStats{3, 3, 0});
}

TEST_CASE("a fresh worker's first batch cannot squat its key id", "[worker][auth]") {
  Worker w;
  // Unsigned, naming a made-up key id, on a worker that has seen no batch.
  TestRequest squat = w.BatchRequest("evil:1", 1, Body(0, 5));
  squat.set("X-Rt-Key-Id", "ffff0000");
  CheckUnauthorized(w.Send(std::move(squat)));
  // Signed, but with the worker key of another secret.
  const WorkerKey other = WorkerKey::Derive("another cluster secret, 32 bytes");
  CheckUnauthorized(w.SendSigned(w.BatchRequest("evil:1", 1, Body(0, 5)), other));
  CHECK(w.node->store().SliceCount() == 0);
  // The real API node's batch is applied.
  REQUIRE(w.SendSigned(w.BatchRequest("api-0:1", 1, Body(0, 3))).result() == bhttp::status::ok);
  CHECK(w.node->store().StatsFor(1) == SliceStats{3, 3, 0});
  CHECK(w.node->store().StoredKeyId() == w.key.KeyId());
}

TEST_CASE("a 401 reveals no key id and no mark", "[worker][auth]") {
  Worker w;
  // A mark of 58 on the stream; a gap batch would once have answered "expected seq 59".
  REQUIRE(w.SendSigned(w.BatchRequest("api-0:1", 1, Body(0, 58))).result() == bhttp::status::ok);
  const std::string key_id = w.key.KeyId();
  std::vector<TestResponse> answers;
  answers.push_back(w.Send(w.BatchRequest("api-0:1", 1000, Body(0, 1))));
  answers.push_back(w.SendSigned(w.BatchRequest("api-0:1", 1000, Body(0, 1)),
                                 WorkerKey::Derive("another cluster secret, 32 bytes")));
  TestRequest keyed = w.BatchRequest("api-0:1", 1000, Body(0, 1));
  keyed.set("X-Rt-Key-Id", "ffff0000");
  answers.push_back(w.Send(std::move(keyed)));
  for (const TestResponse& answer : answers) {
    CheckUnauthorized(answer);
    INFO(answer.body());
    CHECK(answer.body().find(key_id) == std::string::npos);
    CHECK(answer.body().find("58") == std::string::npos);
    CHECK(answer.body().find("59") == std::string::npos);
    CHECK(std::count(answer.body().begin(), answer.body().end(), '\n') == 1);
    for (const auto& field : answer) {
      CHECK(std::string(field.value()).find(key_id) == std::string::npos);
      CHECK(std::string(field.value()).find("59") == std::string::npos);
    }
  }
}

TEST_CASE("the signature covers body, target, X-Rt headers and timestamp", "[worker][auth]") {
  Worker w;
  auto signed_batch = [&w] {
    TestRequest request = w.BatchRequest("api-0:1", 1, Body(0, 2));
    testing::SignTestRequest(request, w.key, &w.clock);
    return request;
  };
  SECTION("unchanged it is applied") {
    CHECK(w.Send(signed_batch()).result() == bhttp::status::ok);
  }
  SECTION("another body") {
    TestRequest request = signed_batch();
    request.body() = Body(0, 3);
    request.prepare_payload();
    CheckUnauthorized(w.Send(std::move(request)));
  }
  SECTION("another target") {
    TestRequest request = signed_batch();
    request.target("/worker/batch?x=1");
    CheckUnauthorized(w.Send(std::move(request)));
  }
  SECTION("another X-Rt-Seq") {
    TestRequest request = signed_batch();
    request.set("X-Rt-Seq", "2");
    CheckUnauthorized(w.Send(std::move(request)));
  }
  SECTION("another X-Rt-Stream, or one more X-Rt header") {
    TestRequest request = signed_batch();
    request.set("X-Rt-Stream", "api-0:2");
    CheckUnauthorized(w.Send(std::move(request)));
    TestRequest extra = signed_batch();
    extra.insert("X-Rt-Seq", "7");
    CheckUnauthorized(w.Send(std::move(extra)));
  }
  SECTION("another timestamp") {
    TestRequest request = signed_batch();
    const int64_t ts = std::stoll(std::string(request[kTimestampHeader]));
    request.set(kTimestampHeader, std::to_string(ts + 1));
    const TestResponse response = w.Send(std::move(request));
    CheckUnauthorized(response);
    CHECK(response.body() == "bad signature\n");
  }
  CHECK(w.node->store().StatsFor(1).clicks <= 2);
}

TEST_CASE("a signature more than 300 s from the worker's clock is refused", "[worker][auth]") {
  Worker w;
  MovableClock sender(kNowMs);
  auto send_at = [&](int64_t offset_s, uint64_t seq) {
    sender.Set(kNowMs + offset_s * 1000);
    TestRequest request = w.BatchRequest("api-0:1", seq, Body(static_cast<int>(seq), 1));
    testing::SignTestRequest(request, w.key, &sender);
    return w.Send(std::move(request));
  };
  const TestResponse ahead = send_at(301, 1);
  CheckUnauthorized(ahead);
  CHECK(ahead.body().find("signature timestamp 301 s from this worker's clock") !=
        std::string::npos);
  CheckUnauthorized(send_at(-301, 1));
  CHECK(w.node->store().SliceCount() == 0);
  CHECK(send_at(299, 1).result() == bhttp::status::ok);
  CHECK(send_at(-299, 2).result() == bhttp::status::ok);
  // The worker's clock moving makes the same offset acceptable: a resend is re-signed.
  w.clock.Set(kNowMs + 600'000);
  CHECK(send_at(600 + 250, 3).result() == bhttp::status::ok);
  CHECK(w.node->store().StatsFor(1) == SliceStats{3, 3, 0});
}

TEST_CASE("every worker endpoint but healthz and metrics wants a signature", "[worker][auth]") {
  Worker w;
  const std::string single = "/worker?slice=1&user=" + Key(1) + "&click";
  for (auto [method, target] : std::vector<std::pair<bhttp::verb, std::string>>{
           {bhttp::verb::get, "/worker?slice=1"},
           {bhttp::verb::get, "/worker/slices"},
           {bhttp::verb::post, single},
           {bhttp::verb::post, "/worker/batch"},
           {bhttp::verb::get, "/worker/mark?stream=s"}}) {
    INFO(target);
    const TestResponse unsigned_answer = w.Send(testing::MakeTestRequest(method, target));
    CheckUnauthorized(unsigned_answer);
    CHECK(unsigned_answer.body() == "missing signature\n");
  }
  CHECK(w.node->store().SliceCount() == 0);
  CHECK(w.Send(testing::MakeTestRequest(bhttp::verb::get, "/healthz")).result() ==
        bhttp::status::ok);
  const TestResponse metrics = w.Send(testing::MakeTestRequest(bhttp::verb::get, "/metrics"));
  CHECK(metrics.result() == bhttp::status::ok);
  CHECK(metrics.body().find("rt_worker_rejected_total{reason=\"unauthorized\"} 5") !=
        std::string::npos);
  // Signed, they answer.
  CHECK(w.SendSigned(testing::MakeTestRequest(bhttp::verb::post, single)).result() ==
        bhttp::status::accepted);
  CHECK(w.SendSigned(testing::MakeTestRequest(bhttp::verb::get, "/worker?slice=1")).body() ==
        FormatSliceStats(SliceStats{1, 1, 0}));
  CHECK(w.SendSigned(testing::MakeTestRequest(bhttp::verb::get, "/worker/slices")).result() ==
        bhttp::status::ok);
  CHECK(w.SendSigned(testing::MakeTestRequest(bhttp::verb::get, "/worker/mark?stream=s")).body() ==
        "{\"mark\":0,\"stream\":\"s\"}");
}

TEST_CASE("a worker refuses to start on data of another worker key, naming both ids",
          "[worker][auth]") {
  testing::TempDir dir;
  WorkerNodeOptions options;
  options.data_dir = dir.Sub("data");
  CHECK_FALSE(WorkerNode::Start(options).ok());  // no key at all
  options.worker_key = testing::TestWorkerKey();
  REQUIRE(WorkerNode::Start(options).ok());  // stores its key id, then stops
  const WorkerKey other = WorkerKey::Derive("another cluster secret, 32 bytes");
  options.worker_key = other;
  const auto refused = WorkerNode::Start(options);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains(testing::TestWorkerKey().KeyId()) &&
                                             Catch::Contains(other.KeyId()) &&
                                             Catch::Contains("another cluster secret"));
  options.worker_key = testing::TestWorkerKey();
  CHECK(WorkerNode::Start(options).ok());
}

}  // namespace
}  // namespace rt
