#include "server/worker/worker_handler.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/model/batch_ack.h"
#include "server/model/slice_stats.h"
#include "server/model/user_key.h"
#include "server/model/worker_protocol.h"
#include "server/store/batch_writer.h"
#include "server/store/kc_store.h"
#include "server/worker/worker_metrics.h"
#include "tests/support/fixed_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

using http::StatusCode;
using http::Verb;

std::string Key(int n) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", n);
  return hex;
}

// A worker's handler over a real store in a temp dir, called without sockets.
struct Fixture {
  // `range`: the handler's slice range (none: every slice); `paused_writer`: the
  // writer queues until writer->Start().
  explicit Fixture(std::optional<SliceRange> range = std::nullopt, bool paused_writer = false,
                   size_t max_queued_events = BatchWriter::kDefaultMaxQueuedEvents) {
    auto opened = KcStore::Open(dir.path());
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    writer = std::make_unique<BatchWriter>(*store, paused_writer, max_queued_events);
    metrics = std::make_unique<WorkerMetrics>(registry, *store, *writer);
    handler = std::make_unique<WorkerHandler>(*store, *writer, *metrics, registry, verifier,
                                              key.KeyId(), range);
    handler->Register(router);
  }
  ~Fixture() { writer->Stop(); }

  // Routes the request like the server does, signed with the worker's key (the
  // signature check itself: worker_auth_test.cpp); the answer may come later.
  std::future<http::Response> CallAsync(http::Request request) {
    testing::SignTestRequest(request, key, &clock);
    auto promise = std::make_shared<std::promise<http::Response>>();
    auto future = promise->get_future();
    const http::Router::Match match = router.Find(request.method(), request.target());
    if (match.route == nullptr) {
      promise->set_value(http::Router::ErrorResponse(match, request.target()));
      return future;
    }
    // The request stays alive until the answer, as in a session.
    auto held = std::make_shared<http::Request>(std::move(request));
    match.route->handler(*held,
                         [promise, held](http::Response&& r) { promise->set_value(std::move(r)); });
    return future;
  }

  // Routes the request like the server does and waits (bounded) for the answer.
  http::Response Call(http::Request request) {
    auto future = CallAsync(std::move(request));
    REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    return future.get();
  }

  http::Response Get(std::string target) { return Call(http::Request{Verb::get, target, 11}); }
  http::Response Post(std::string target) { return Call(http::Request{Verb::post, target, 11}); }

  static http::Request BatchRequestOf(std::string body, std::string stream, std::string seq) {
    http::Request request{Verb::post, "/worker/batch", 11};
    request.set("X-Rt-Stream", stream);
    request.set("X-Rt-Seq", seq);
    request.set("X-Rt-Key-Id", "abcd1234");
    request.body() = std::move(body);
    return request;
  }
  http::Response Batch(std::string body, std::vector<std::pair<std::string, std::string>> headers) {
    http::Request request{Verb::post, "/worker/batch", 11};
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    return Call(std::move(request));
  }
  http::Response Batch(std::string body, std::string stream, std::string seq,
                       std::string key_id = "abcd1234") {
    return Batch(std::move(body),
                 {{"X-Rt-Stream", stream}, {"X-Rt-Seq", seq}, {"X-Rt-Key-Id", key_id}});
  }

  testing::TempDir dir;
  const WorkerKey key = testing::TestWorkerKey();
  const testing::FixedClock clock{1'764'000'000'000};
  const RequestVerifier verifier{key, clock};
  std::unique_ptr<KcStore> store;
  std::unique_ptr<BatchWriter> writer;
  MetricsRegistry registry;
  std::unique_ptr<WorkerMetrics> metrics;
  std::unique_ptr<WorkerHandler> handler;
  http::Router router;
};

TEST_CASE("a single event post answers 202 with the slice's stats text", "[worker][handler]") {
  Fixture f;
  http::Response first = f.Post("/worker?slice=5&user=" + Key(1) + "&click");
  CHECK(first.result() == StatusCode::accepted);
  CHECK(first.body() == "unique_users,1\nclicks,1\nimpressions,0\n");
  http::Response second = f.Post("/worker?slice=5&user=" + Key(1) + "&impression");
  CHECK(second.body() == "unique_users,1\nclicks,1\nimpressions,1\n");
  http::Response other = f.Post("/worker?slice=5&user=" + Key(2) + "&impression");
  CHECK(other.body() == "unique_users,2\nclicks,1\nimpressions,2\n");
}

TEST_CASE("a single event post names the bad parameter", "[worker][handler]") {
  Fixture f;
  const http::Response bad_slice = f.Post("/worker?slice=x1&user=" + Key(1) + "&click");
  CHECK(bad_slice.result() == StatusCode::bad_request);
  CHECK(bad_slice.body().find("slice") != std::string::npos);
  const http::Response negative = f.Post("/worker?slice=-1&user=" + Key(1) + "&click");
  CHECK(negative.result() == StatusCode::bad_request);
  const http::Response missing_slice = f.Post("/worker?user=" + Key(1) + "&click");
  CHECK(missing_slice.result() == StatusCode::bad_request);
  CHECK(missing_slice.body().find("slice") != std::string::npos);
  const http::Response bad_user = f.Post("/worker?slice=1&user=bob&click");
  CHECK(bad_user.result() == StatusCode::bad_request);
  CHECK(bad_user.body().find("user") != std::string::npos);
  const http::Response no_action = f.Post("/worker?slice=1&user=" + Key(1));
  CHECK(no_action.result() == StatusCode::bad_request);
  CHECK(no_action.body().find("click") != std::string::npos);
  const http::Response both = f.Post("/worker?slice=1&user=" + Key(1) + "&click&impression");
  CHECK(both.result() == StatusCode::bad_request);
  for (const auto* r : {&bad_slice, &negative, &missing_slice, &bad_user, &no_action, &both}) {
    CHECK(r->body().find('\n') == r->body().size() - 1);
  }
  CHECK(f.store->SliceCount() == 0);
}

TEST_CASE("a slice read answers the stats text, zeros for an unknown slice", "[worker][handler]") {
  Fixture f;
  REQUIRE(f.Post("/worker?slice=9&user=" + Key(1) + "&click").result() == StatusCode::accepted);
  const http::Response known = f.Get("/worker?slice=9");
  CHECK(known.result() == StatusCode::ok);
  CHECK(known.body() == "unique_users,1\nclicks,1\nimpressions,0\n");
  CHECK(f.Get("/worker?slice=10").body() == "unique_users,0\nclicks,0\nimpressions,0\n");
  const http::Response missing = f.Get("/worker");
  CHECK(missing.result() == StatusCode::bad_request);
  CHECK(missing.body().find("slice") != std::string::npos);
  CHECK(f.Get("/worker?slice=abc").result() == StatusCode::bad_request);
}

TEST_CASE("the slices listing is JSON, ascending by slice", "[worker][handler]") {
  Fixture f;
  const std::string body = "7 " + Key(1) + " c\n3 " + Key(2) + " i\n3 " + Key(3) + " c\n";
  REQUIRE(f.Batch(body, "s", "1").result() == StatusCode::ok);
  const http::Response response = f.Get("/worker/slices");
  CHECK(response.result() == StatusCode::ok);
  CHECK(response[http::beast_http::field::content_type] == "application/json");
  const auto json = nlohmann::json::parse(response.body());
  REQUIRE(json["slices"].size() == 2);
  CHECK(json["slices"][0] ==
        nlohmann::json{{"slice", 3}, {"unique_users", 2}, {"clicks", 1}, {"impressions", 1}});
  CHECK(json["slices"][1] ==
        nlohmann::json{{"slice", 7}, {"unique_users", 1}, {"clicks", 1}, {"impressions", 0}});
}

TEST_CASE("a batch answers 200 JSON with the acked seq and touched slices", "[worker][handler]") {
  Fixture f;
  const std::string body = "4 " + Key(1) + " c\n4 " + Key(1) + " i\n2 " + Key(2) + " c\n";
  const http::Response response = f.Batch(body, "api-0:17", "1");
  REQUIRE(response.result() == StatusCode::ok);
  const Result<BatchAck> ack = ParseBatchAck(response.body());
  REQUIRE(ack.ok());
  CHECK(ack->acked_seq == 3);
  CHECK(ack->applied == 3);
  CHECK(ack->duplicates == 0);
  REQUIRE(ack->slices.size() == 2);
  CHECK(ack->slices[0] == std::pair<int64_t, SliceStats>{2, SliceStats{1, 1, 0}});
  CHECK(ack->slices[1] == std::pair<int64_t, SliceStats>{4, SliceStats{1, 1, 1}});
}

TEST_CASE("a retried batch is counted once and reported as duplicates", "[worker][handler]") {
  Fixture f;
  const std::string body = "1 " + Key(1) + " c\n1 " + Key(2) + " c\n";
  REQUIRE(f.Batch(body, "s", "1").result() == StatusCode::ok);
  const http::Response retry = f.Batch(body, "s", "1");
  REQUIRE(retry.result() == StatusCode::ok);
  const Result<BatchAck> ack = ParseBatchAck(retry.body());
  REQUIRE(ack.ok());
  CHECK(ack->acked_seq == 2);
  CHECK(ack->duplicates == 2);
  CHECK(ack->applied == 0);
  CHECK(f.store->StatsFor(1) == SliceStats{2, 2, 0});
  CHECK(f.metrics->duplicates_skipped.Value() == 2);
  CHECK(f.metrics->events_applied.Value() == 2);
}

TEST_CASE("a malformed line refuses the whole batch naming the line", "[worker][handler]") {
  Fixture f;
  const std::string body = "1 " + Key(1) + " c\n1 " + Key(2) + " c\n1 nothex c\n";
  const http::Response response = f.Batch(body, "s", "1");
  CHECK(response.result() == StatusCode::bad_request);
  CHECK(response.body().find("line 3") != std::string::npos);
  CHECK(f.store->SliceCount() == 0);
  CHECK(f.metrics->rejected_bad_request.Value() == 1);
}

TEST_CASE("the mark endpoint answers a stream's high-water mark, 0 for an unknown stream",
          "[worker][handler]") {
  Fixture f;
  const std::string body = "1 " + Key(1) + " c\n1 " + Key(2) + " c\n1 " + Key(3) + " i\n";
  REQUIRE(f.Batch(body, "api-0:17", "1").result() == StatusCode::ok);
  const http::Response known = f.Get("/worker/mark?stream=api-0%3A17");
  REQUIRE(known.result() == StatusCode::ok);
  CHECK(known[http::beast_http::field::content_type] == "application/json");
  CHECK(known.body() == "{\"mark\":3,\"stream\":\"api-0:17\"}");
  CHECK(f.Get("/worker/mark?stream=api-0:18").body() == "{\"mark\":0,\"stream\":\"api-0:18\"}");
  const http::Response missing = f.Get("/worker/mark");
  CHECK(missing.result() == StatusCode::bad_request);
  CHECK(missing.body().find("stream") != std::string::npos);
  const http::Response too_long = f.Get("/worker/mark?stream=" + std::string(200, 'x'));
  CHECK(too_long.result() == StatusCode::bad_request);
}

TEST_CASE("a batch without a required header is refused naming it", "[worker][handler]") {
  Fixture f;
  const std::string body = "1 " + Key(1) + " c\n";
  const std::vector<std::pair<std::string, std::string>> all = {{"X-Rt-Stream", "s"},
                                                                {"X-Rt-Seq", "1"}};
  for (std::size_t skip = 0; skip < all.size(); ++skip) {
    std::vector<std::pair<std::string, std::string>> headers;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (i != skip) headers.push_back(all[i]);
    }
    const http::Response response = f.Batch(body, headers);
    CHECK(response.result() == StatusCode::bad_request);
    CHECK(response.body().find(all[skip].first) != std::string::npos);
  }
  CHECK(f.store->SliceCount() == 0);
}

TEST_CASE("a batch with a bad header value is refused naming it", "[worker][handler]") {
  Fixture f;
  const std::string body = "1 " + Key(1) + " c\n";
  for (const std::string seq : {"0", "abc", "-1", "1x", "99999999999999999999999"}) {
    const http::Response response = f.Batch(body, "s", seq);
    CHECK(response.result() == StatusCode::bad_request);
    CHECK(response.body().find("X-Rt-Seq") != std::string::npos);
  }
  const http::Response long_stream = f.Batch(body, std::string(129, 's'), "1");
  CHECK(long_stream.result() == StatusCode::bad_request);
  CHECK(long_stream.body().find("X-Rt-Stream") != std::string::npos);
  const http::Response control = f.Batch(body,
                                         "a\x01"
                                         "b",
                                         "1");
  CHECK(control.result() == StatusCode::bad_request);
  CHECK(f.Batch(body, std::string(128, 's'), "1").result() == StatusCode::ok);
}

TEST_CASE("a batch that would leave a gap is a 409 carrying the expected seq in a header",
          "[worker][handler]") {
  Fixture f;
  const std::string two = "1 " + Key(1) + " c\n1 " + Key(2) + " c\n";
  REQUIRE(f.Batch(two, "s", "1").result() == StatusCode::ok);
  const http::Response gap = f.Batch("1 " + Key(3) + " c\n", "s", "5");
  CHECK(gap.result() == StatusCode::conflict);
  CHECK(gap[kExpectedSeqHeader] == "3");
  CHECK(gap[kErrorHeader] == kErrorSeqGap);
  // The reason line stays for people.
  CHECK(gap.body().find("expected seq 3") != std::string::npos);
  CHECK(std::count(gap.body().begin(), gap.body().end(), '\n') == 1);
  CHECK(f.store->StatsFor(1) == SliceStats{2, 2, 0});
  CHECK(f.metrics->rejected_gap.Value() == 1);
  CHECK(f.metrics->rejected_key_mismatch.Value() == 0);
}

TEST_CASE("a batch's X-Rt-Key-Id is ignored: batches apply under the worker key's id",
          "[worker][handler][auth]") {
  Fixture f;
  REQUIRE(f.Batch("1 " + Key(1) + " c\n", "s", "1", "aaaa1111").result() == StatusCode::ok);
  REQUIRE(f.Batch("1 " + Key(2) + " c\n", "s", "2", "bbbb2222").result() == StatusCode::ok);
  CHECK(f.store->StatsFor(1) == SliceStats{2, 2, 0});
  CHECK(f.store->StoredKeyId() == f.key.KeyId());
  CHECK(f.metrics->rejected_key_mismatch.Value() == 0);
}

TEST_CASE("health and metrics endpoints answer", "[worker][handler]") {
  Fixture f;
  CHECK(f.Get("/healthz").body() == "ok\n");
  REQUIRE(f.Batch("1 " + Key(1) + " c\n", "s", "1").result() == StatusCode::ok);
  const http::Response metrics = f.Get("/metrics");
  CHECK(metrics.result() == StatusCode::ok);
  for (const char* name :
       {"rt_worker_events_applied_total 1", "rt_worker_duplicates_skipped_total 0",
        "rt_worker_batches_total 1", "rt_worker_batch_apply_seconds_count 1",
        "rt_worker_slices_held 1", "rt_worker_store_bytes ", "rt_worker_writer_queue_depth 0"}) {
    CHECK(metrics.body().find(name) != std::string::npos);
  }
}

TEST_CASE("worker paths answer 405 to other methods", "[worker][handler]") {
  Fixture f;
  const http::Response response = f.Get("/worker/batch");
  CHECK(response.result() == StatusCode::method_not_allowed);
  CHECK(response[http::beast_http::field::allow] == "POST");
  CHECK(f.Post("/worker/slices").result() == StatusCode::method_not_allowed);
}

// Slices of 1-hour length from the epoch; the fixed clock is mid-slice 1000 and
// max-future-s is 300, so the slice of now + max-future-s is 1000 and the range
// ends at 1001.
constexpr int64_t kNowMs = (1000 * 3600 + 1800) * int64_t{1000};

TEST_CASE("a batch naming a slice beyond the horizon is a 400 and nothing of it is applied",
          "[worker][handler][bounds]") {
  testing::FixedClock clock(kNowMs);
  Fixture f(SliceRange({0, 3600, 300}, clock));
  const std::string body = "1000 " + Key(1) + " c\n9000000000000000 " + Key(2) + " c\n";
  const http::Response response = f.Batch(body, "s", "1");
  CHECK(response.result() == StatusCode::bad_request);
  CHECK_THAT(response.body(), Catch::Contains("line 2") && Catch::Contains("9000000000000000") &&
                                  Catch::Contains("[0, 1001]"));
  CHECK(f.store->SliceCount() == 0);
  CHECK(f.store->StatsFor(1000) == SliceStats{});
  CHECK(f.metrics->rejected_out_of_range.Value() == 1);

  // The same stream continues at seq 1: the refused batch did not move its mark.
  const std::string at_horizon = "1001 " + Key(1) + " c\n0 " + Key(2) + " i\n";
  const http::Response applied = f.Batch(at_horizon, "s", "1");
  REQUIRE(applied.result() == StatusCode::ok);
  CHECK(f.store->StatsFor(1001) == SliceStats{1, 1, 0});
  CHECK(f.store->StatsFor(0) == SliceStats{1, 0, 1});
}

TEST_CASE("a single event beyond the horizon is a 400 naming the slice and the range",
          "[worker][handler][bounds]") {
  testing::FixedClock clock(kNowMs);
  Fixture f(SliceRange({0, 3600, 300}, clock));
  const http::Response refused = f.Post("/worker?slice=1002&user=" + Key(1) + "&click");
  CHECK(refused.result() == StatusCode::bad_request);
  CHECK_THAT(refused.body(), Catch::Contains("slice 1002") && Catch::Contains("[0, 1001]"));
  CHECK(f.store->SliceCount() == 0);
  CHECK(f.Post("/worker?slice=1001&user=" + Key(1) + "&click").result() == StatusCode::accepted);
  CHECK(f.store->SliceCount() == 1);
}

TEST_CASE("a worker whose clock is before the first slice accepts no slice",
          "[worker][handler][bounds]") {
  testing::FixedClock clock(kNowMs);
  // First slice two hours after now: even slice 0 is not due yet.
  Fixture f(SliceRange({1000 * 3600 + 1800 + 7200, 3600, 300}, clock));
  const http::Response refused = f.Batch("0 " + Key(1) + " c\n", "s", "1");
  CHECK(refused.result() == StatusCode::bad_request);
  CHECK_THAT(refused.body(), Catch::Contains("before the first slice"));
}

TEST_CASE("a write the full writer queue cannot take is a 503 with Retry-After",
          "[worker][handler][bounds]") {
  Fixture f(std::nullopt, /*paused_writer=*/true, /*max_queued_events=*/2);
  auto first =
      f.CallAsync(Fixture::BatchRequestOf("1 " + Key(1) + " c\n1 " + Key(2) + " c\n", "s", "1"));
  const http::Response full = f.Call(Fixture::BatchRequestOf("1 " + Key(3) + " c\n", "s", "3"));
  CHECK(full.result() == StatusCode::service_unavailable);
  CHECK(full[http::beast_http::field::retry_after] == "1");
  CHECK_THAT(full.body(), Catch::Contains("queue full"));
  const http::Response single = f.Post("/worker?slice=1&user=" + Key(4) + "&click");
  CHECK(single.result() == StatusCode::service_unavailable);
  CHECK(single[http::beast_http::field::retry_after] == "1");
  CHECK(f.metrics->rejected_queue_full.Value() == 2);
  CHECK_THAT(f.Get("/metrics").body(),
             Catch::Contains("rt_worker_rejected_total{reason=\"queue_full\"} 2"));

  // Once drained, the refused batch goes through as sent.
  f.writer->Start();
  REQUIRE(first.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(first.get().result() == StatusCode::ok);
  CHECK(f.Batch("1 " + Key(3) + " c\n", "s", "3").result() == StatusCode::ok);
  CHECK(f.store->StatsFor(1) == SliceStats{3, 3, 0});
}

}  // namespace
}  // namespace rt
