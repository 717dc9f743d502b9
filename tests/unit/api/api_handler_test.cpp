#include "server/api/api_handler.h"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <vector>

#include "config/replica_set.h"
#include "config/utc_time.h"
#include "server/api/spool/event_spool.h"
#include "server/api/stats_cache.h"
#include "server/api/worker_read_clients.h"

namespace rt {
namespace {

constexpr int64_t kFirstSliceMs = 1577836800000;  // 2020-01-01T00:00:00Z
constexpr int64_t kNowMs = kFirstSliceMs + 10 * 3600 * 1000 + 5;

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return kNowMs; }
};

class RecordingSink final : public EventSink {
 public:
  EnqueueOutcome Enqueue(const ReplicaSet& set, const BatchEvent& event) override {
    const std::string worker = SetKey(set);
    if (full) return {EnqueueResult::kQueueFull};
    if (undeliverable.count(worker) != 0) return {EnqueueResult::kUndeliverable};
    events.emplace_back(worker, event);
    return {EnqueueResult::kQueued, events.size(), wait_on};
  }
  std::optional<std::string> Unhealthy() const override { return unhealthy; }
  std::string UndeliverableReason(const ReplicaSet& set) const override {
    return undeliverable.at(SetKey(set));
  }
  std::optional<std::string> NotReady(const std::vector<ReplicaSet>& sets) const override {
    asked_ready = MembersOf(sets);
    return not_ready;
  }

  bool full = false;
  EventSpool* wait_on = nullptr;  // the spool whose fsync the 202 waits for
  std::optional<std::string> unhealthy;
  std::optional<std::string> not_ready;
  mutable std::vector<std::string> asked_ready;
  std::map<std::string, std::string> undeliverable;  // worker → reason
  std::vector<std::pair<std::string, BatchEvent>> events;
};

// The handler with everything it needs, and no sockets: reads that would need a
// worker are never started by these tests (the io_context never runs).
struct Fixture {
  Fixture()
      : config(std::make_shared<ClusterConfig>()),
        keyer("secret"),
        cache(std::chrono::milliseconds(1000)),
        clients(ioc, http::ClientOptions{}),
        fetcher(clients, cache, std::chrono::milliseconds(2000)),
        handler([this] { return std::shared_ptr<const ClusterConfig>(config); }, keyer, clock, sink,
                fetcher, metrics) {
    config->api_nodes = {{"0", "http://127.0.0.1:8080/analytics"}};
    config->worker_nodes = {{"0", "http://127.0.0.1:9000/worker"},
                            {"1", "http://127.0.0.1:9001/worker"}};
    config->first_slice_s = kFirstSliceMs / 1000;
    config->routing = {{0, SetsOfOne({"0", "1"})}};
  }

  http::Response Call(void (ApiHandler::*method)(http::Request&, http::Responder), http::Verb verb,
                      std::string target,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request request{verb, target, 11};
    for (const auto& [name, value] : headers) request.set(name, value);
    std::optional<http::Response> answer;
    (handler.*method)(request, [&answer](http::Response&& r) { answer = std::move(r); });
    REQUIRE(answer.has_value());
    return std::move(*answer);
  }
  http::Response Post(std::string target) {
    return Call(&ApiHandler::HandlePostEvent, http::Verb::post, std::move(target));
  }

  std::shared_ptr<ClusterConfig> config;
  FixedClock clock;
  UserKeyer keyer;
  RecordingSink sink;
  StatsCache cache;
  boost::asio::io_context ioc;
  WorkerReadClients clients;
  SliceFetcher fetcher;
  MetricsRegistry metrics;
  ApiHandler handler;
};

std::string Ts(int64_t ms) { return std::to_string(ms); }

}  // namespace

TEST_CASE("an accepted event is 202 with an empty body and reaches its worker's queue",
          "[api][handler]") {
  Fixture f;
  const http::Response response = f.Post("/analytics?timestamp=" + Ts(kNowMs) + "&user=bob&click");
  CHECK(response.result() == http::StatusCode::accepted);
  CHECK(response.body().empty());
  REQUIRE(f.sink.events.size() == 1);
  const auto& [worker, event] = f.sink.events[0];
  CHECK(event.slice == 10);
  CHECK(event.key == f.keyer.KeyFor(10, "bob"));
  CHECK(worker == (event.key.RoutingHash() % 2 == 0 ? "0" : "1"));
}

// A spool whose WhenDurable completions wait until the test runs them (a group fsync).
class DeferredSyncSpool final : public EventSpool {
 public:
  Result<uint64_t> Append(std::string_view) override { return uint64_t{0}; }
  void WhenDurable(uint64_t seq, std::function<void()> done) override {
    waiting.emplace_back(seq, std::move(done));
  }
  size_t Read(uint64_t, size_t, size_t, std::string&) override { return 0; }
  std::optional<Gap> GapAt(uint64_t) const override { return std::nullopt; }
  void Acknowledge(uint64_t) override {}
  Stream stream() const override { return {}; }
  Status StartNewStream(Stream) override { return Status::Ok(); }
  uint64_t next_seq() const override { return 1; }
  uint64_t acknowledged() const override { return 0; }
  uint64_t events() const override { return 0; }
  uint64_t bytes() const override { return 0; }
  int64_t oldest_unacknowledged_ms() const override { return 0; }

  std::vector<std::pair<uint64_t, std::function<void()>>> waiting;
};

TEST_CASE("with a fsyncing spool the 202 waits for the sync that covers the event",
          "[api][handler][spool]") {
  Fixture f;
  DeferredSyncSpool spool;
  f.sink.wait_on = &spool;
  std::optional<http::Response> answer;
  http::Request request{http::Verb::post, "/analytics?timestamp=" + Ts(kNowMs) + "&user=bob&click",
                        11};
  f.handler.HandlePostEvent(request, [&answer](http::Response&& r) { answer = std::move(r); });
  CHECK_FALSE(answer.has_value());  // appended, not yet synced
  REQUIRE(spool.waiting.size() == 1);
  CHECK(spool.waiting[0].first == 1);  // the seq Enqueue returned
  CHECK(f.metrics.Render().find("rt_api_received_total{action=\"click\"} 0") != std::string::npos);
  spool.waiting[0].second();  // the group fsync is done
  REQUIRE(answer.has_value());
  CHECK(answer->result() == http::StatusCode::accepted);
  CHECK(f.metrics.Render().find("rt_api_received_total{action=\"click\"} 1") != std::string::npos);
}

TEST_CASE("every 400 of POST /analytics names the problem on one line and is counted",
          "[api][handler]") {
  Fixture f;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/analytics?user=u&click", "timestamp"},
      {"/analytics?timestamp=x&user=u&click", "timestamp"},
      {"/analytics?timestamp=" + Ts(kNowMs) + "&click", "user"},
      {"/analytics?timestamp=" + Ts(kNowMs) + "&user=u", "click"},
      {"/analytics?timestamp=" + Ts(kNowMs) + "&user=u&click&impression", "both"},
      {"/analytics?timestamp=" + Ts(kFirstSliceMs - 1) + "&user=u&click", "first slice"},
      {"/analytics?timestamp=" + Ts(kNowMs + 3600 * 1000) + "&user=u&click", "ahead"},
  };
  for (const auto& [target, word] : cases) {
    INFO(target);
    const http::Response response = f.Post(target);
    CHECK(response.result() == http::StatusCode::bad_request);
    const std::string& body = response.body();
    CHECK(body.find(word) != std::string::npos);
    CHECK(body.find('\n') == body.size() - 1);
  }
  CHECK(f.sink.events.empty());
  CHECK(f.handler.Rejected(RejectReason::kBadTimestamp) == 2);
  CHECK(f.handler.Rejected(RejectReason::kBadUser) == 1);
  CHECK(f.handler.Rejected(RejectReason::kBadAction) == 2);
  CHECK(f.handler.Rejected(RejectReason::kBeforeFirstSlice) == 1);
  CHECK(f.handler.Rejected(RejectReason::kTooFarInFuture) == 1);
  const std::string metrics = f.metrics.Render();
  CHECK(metrics.find("rt_api_rejected_total{reason=\"bad_action\"} 2") != std::string::npos);
}

TEST_CASE("a full worker queue is a 503 with Retry-After naming the worker", "[api][handler]") {
  Fixture f;
  f.sink.full = true;
  const http::Response response = f.Post("/analytics?timestamp=" + Ts(kNowMs) + "&user=u&click");
  CHECK(response.result() == http::StatusCode::service_unavailable);
  CHECK(response[http::beast_http::field::retry_after] == "1");
  CHECK(response.body().find("worker ") != std::string::npos);
  CHECK(f.handler.Rejected(RejectReason::kQueueFull) == 1);
}

TEST_CASE("a POST for a worker this node cannot deliver to is a 503 with the reason, not a 202",
          "[api][handler]") {
  Fixture f;
  f.sink.undeliverable["1"] = "key mismatch with worker 1";
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string user = "user" + std::to_string(i);
    INFO(user);
    const std::string worker = f.keyer.KeyFor(10, user).RoutingHash() % 2 == 0 ? "0" : "1";
    const http::Response response =
        f.Post("/analytics?timestamp=" + Ts(kNowMs) + "&user=" + user + "&click");
    if (worker == "1") {
      ++refused;
      CHECK(response.result() == http::StatusCode::service_unavailable);
      CHECK(response.body() == "cannot deliver to worker 1: key mismatch with worker 1\n");
      // No Retry-After: the node cannot promise when an operator fixes the worker.
      CHECK(response.find(http::beast_http::field::retry_after) == response.end());
    } else {
      ++accepted;
      CHECK(response.result() == http::StatusCode::accepted);
    }
  }
  REQUIRE(accepted > 0);
  REQUIRE(refused > 0);
  CHECK(f.sink.events.size() == static_cast<size_t>(accepted));
  for (const auto& [worker, event] : f.sink.events) CHECK(worker == "0");
  CHECK(f.handler.Rejected(RejectReason::kUndeliverable) == static_cast<uint64_t>(refused));
  CHECK(f.metrics.Render().find("rt_api_rejected_total{reason=\"undeliverable\"} " +
                                std::to_string(refused)) != std::string::npos);
}

TEST_CASE("GET /analytics with a bad timestamp is a 400 naming it", "[api][handler]") {
  Fixture f;
  for (const std::string target : {"/analytics", "/analytics?timestamp=",
                                   "/analytics?timestamp=1e5", "/analytics?timestamp=1000"}) {
    INFO(target);
    const http::Response response = f.Call(&ApiHandler::HandleGetStats, http::Verb::get, target);
    CHECK(response.result() == http::StatusCode::bad_request);
    CHECK(response.body().find("timestamp") != std::string::npos);
  }
}

TEST_CASE("a cached GET sums the workers' cached parts without asking them", "[api][handler]") {
  Fixture f;
  f.cache.Put("0", 10, SliceStats{3, 4, 5});
  f.cache.Put("1", 10, SliceStats{1, 1, 1});
  const http::Response response =
      f.Call(&ApiHandler::HandleGetStats, http::Verb::get, "/analytics?timestamp=" + Ts(kNowMs));
  CHECK(response.result() == http::StatusCode::ok);
  CHECK(response.body() == "unique_users,4\nclicks,5\nimpressions,6\n");
}

TEST_CASE("a perworker 200 counts as a read and in the GET latency histogram", "[api][handler]") {
  Fixture f;
  f.cache.Put("0", 10, SliceStats{3, 4, 5});
  f.cache.Put("1", 10, SliceStats{1, 1, 1});
  const http::Response response = f.Call(&ApiHandler::HandleGetPerWorker, http::Verb::get,
                                         "/analytics/perworker?timestamp=" + Ts(kNowMs));
  REQUIRE(response.result() == http::StatusCode::ok);
  const std::string metrics = f.metrics.Render();
  CHECK_THAT(metrics, Catch::Contains("\nrt_api_reads_total 1\n"));
  CHECK_THAT(metrics, Catch::Contains("\nrt_api_get_seconds_count 1\n"));
  CHECK_THAT(metrics, Catch::Contains("\nrt_api_read_failures_total 0\n"));
}

TEST_CASE("healthz reports a stopped stream as 503 naming the worker and the status",
          "[api][handler]") {
  Fixture f;
  f.sink.unhealthy = "stream to worker 1 stopped: it answered 400 Bad Request: line 3: bad";
  const http::Response response = f.Call(&ApiHandler::HandleHealth, http::Verb::get, "/healthz");
  CHECK(response.result() == http::StatusCode::service_unavailable);
  CHECK(response.body() == *f.sink.unhealthy + "\n");
}

TEST_CASE("healthz reports a key mismatch as 503", "[api][handler]") {
  Fixture f;
  CHECK(f.Call(&ApiHandler::HandleHealth, http::Verb::get, "/healthz").body() == "ok\n");
  f.sink.unhealthy = "key mismatch with worker 1";
  const http::Response response = f.Call(&ApiHandler::HandleHealth, http::Verb::get, "/healthz");
  CHECK(response.result() == http::StatusCode::service_unavailable);
  CHECK(response.body() == "key mismatch with worker 1\n");
}

TEST_CASE("readyz is 200 ready until a worker of the current slice is not, then 503 naming it",
          "[api][handler]") {
  Fixture f;
  f.config->routing = {{0, SetsOfOne({"0"})}, {10, SetsOfOne({"1"})}};  // now is in slice 10
  http::Response response = f.Call(&ApiHandler::HandleReady, http::Verb::get, "/readyz");
  CHECK(response.result() == http::StatusCode::ok);
  CHECK(response.body() == "ready\n");
  CHECK(f.sink.asked_ready == std::vector<std::string>{"1"});

  f.sink.not_ready = "worker 1 unreachable: its last batch failed and is being retried";
  response = f.Call(&ApiHandler::HandleReady, http::Verb::get, "/readyz");
  CHECK(response.result() == http::StatusCode::service_unavailable);
  CHECK(response.body() == "not ready: " + *f.sink.not_ready + "\n");
  // Liveness is not readiness: /healthz stays 200.
  CHECK(f.Call(&ApiHandler::HandleHealth, http::Verb::get, "/healthz").result() ==
        http::StatusCode::ok);
}

TEST_CASE("readyz is 503 whenever healthz is", "[api][handler]") {
  Fixture f;
  f.sink.unhealthy = "key mismatch with worker 1";
  const http::Response response = f.Call(&ApiHandler::HandleReady, http::Verb::get, "/readyz");
  CHECK(response.result() == http::StatusCode::service_unavailable);
  CHECK(response.body() == "not ready: key mismatch with worker 1\n");
}

TEST_CASE("perworker and allslices answers have the documented text form", "[api][handler]") {
  const std::vector<WorkerStats> workers = {{"0", "http://h:9000/worker", {1, 2, 3}},
                                            {"1", "http://h:9001/worker", {4, 5, 6}}};
  CHECK(FormatPerWorker(7, workers) ==
        "slice,7\nworker,http://h:9000/worker\nunique_users,1\nclicks,2\nimpressions,3\n"
        "slice,7\nworker,http://h:9001/worker\nunique_users,4\nclicks,5\nimpressions,6\n");
  CHECK(FormatAllSlices({{2, {1, 0, 1}}, {5, {2, 2, 0}}}) ==
        "slice,2\nunique_users,1\nclicks,0\nimpressions,1\n"
        "slice,5\nunique_users,2\nclicks,2\nimpressions,0\n");
}

TEST_CASE("perworker and allslices add each slice's start after its number when asked",
          "[api][handler]") {
  ClusterConfig config;
  config.slice_length_s = 3600;
  config.first_slice_s = 1577836800;  // 2020-01-01T00:00:00
  const std::vector<WorkerStats> workers = {{"0", "http://h:9000/worker", {1, 2, 3}}};
  CHECK(FormatPerWorker(7, workers, &config) ==
        "slice,7\nstart,2020-01-01T07:00:00\nworker,http://h:9000/worker\nunique_users,1\n"
        "clicks,2\nimpressions,3\n");
  CHECK(FormatAllSlices({{2, {1, 0, 1}}, {51000, {2, 2, 0}}}, &config) ==
        "slice,2\nstart,2020-01-01T02:00:00\nunique_users,1\nclicks,0\nimpressions,1\n"
        "slice,51000\nstart,2025-10-26T00:00:00\nunique_users,2\nclicks,2\nimpressions,0\n");

  // The handler adds them for `with-start` only: older clients refuse an unknown key.
  Fixture f;
  f.cache.Put("0", 10, SliceStats{3, 4, 5});
  f.cache.Put("1", 10, SliceStats{1, 1, 1});
  const std::string target = "/analytics/perworker?timestamp=" + Ts(kNowMs);
  const http::Response plain = f.Call(&ApiHandler::HandleGetPerWorker, http::Verb::get, target);
  REQUIRE(plain.result() == http::StatusCode::ok);
  CHECK(plain.body().find("start,") == std::string::npos);
  const http::Response with_start =
      f.Call(&ApiHandler::HandleGetPerWorker, http::Verb::get, target + "&with-start");
  REQUIRE(with_start.result() == http::StatusCode::ok);
  const std::string start_line =
      "slice,10\nstart," + FormatUtcTime(kFirstSliceMs / 1000 + 10 * 3600) + "\nworker,";
  CHECK(with_start.body().find(start_line) == 0);
  CHECK(with_start.body().find(start_line, 1) != std::string::npos);  // both workers
  // A parameter that merely starts the same is not the flag.
  const http::Response other =
      f.Call(&ApiHandler::HandleGetPerWorker, http::Verb::get, target + "&with-starts=1");
  CHECK(other.body() == plain.body());
}

TEST_CASE("worker /slices JSON parses into a slice map", "[api][handler]") {
  const auto parsed =
      ParseWorkerSlices(R"({"slices":[{"slice":3,"unique_users":1,"clicks":2,"impressions":3}]})");
  REQUIRE(parsed.ok());
  CHECK(parsed->at(3) == SliceStats{1, 2, 3});
  CHECK_FALSE(ParseWorkerSlices("{\"slices\":[{\"slice\":\"x\"}]}").ok());
  CHECK_FALSE(ParseWorkerSlices("not json").ok());
}

// A float out of range in a /worker/slices answer was undefined behaviour in the
// conversion (UBSan, on the tests/fuzz/fuzz_worker_answers harness), and -1 a count
// of 2^64-1: the API node trusts these numbers.
TEST_CASE("worker /slices numbers that are not integers of their range are an error",
          "[api][handler]") {
  const auto with = [](const std::string& slice, const std::string& clicks) {
    return ParseWorkerSlices(R"([{"slice":)" + slice + R"(,"unique_users":1,"clicks":)" + clicks +
                             R"(,"impressions":0}])");
  };
  CHECK(with("9223372036854775807", "18446744073709551615").ok());
  for (const char* bad : {"1e300", "1.5", "-1", "9223372036854775808"}) {
    CHECK_FALSE(with(bad, "1").ok());
  }
  for (const char* bad : {"1e300", "-1e300", "2.5", "-1"}) {
    const auto parsed = with("1", bad);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
  }
}

}  // namespace rt
