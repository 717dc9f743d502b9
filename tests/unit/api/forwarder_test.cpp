#include "server/api/forwarder.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/api/forwarder_set.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/model/batch_ack.h"
#include "server/model/batch_codec.h"
#include "server/model/worker_protocol.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/io_thread.h"
#include "tests/support/wait_for.h"
#include "tests/unit/api/fake_worker.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeWorker;
using testing::WaitFor;

BatchEvent MakeEvent(uint64_t i) {
  BatchEvent e;
  e.slice = static_cast<int64_t>(i % 3);
  e.key.bytes[0] = static_cast<uint8_t>(i);
  e.key.bytes[1] = static_cast<uint8_t>(i >> 8);
  e.key.bytes[2] = static_cast<uint8_t>(i >> 16);
  e.action = i % 4 == 0 ? Action::kClick : Action::kImpression;
  return e;
}

ForwarderOptions Options(uint16_t port) {
  ForwarderOptions o;
  o.worker_id = "w1";
  o.host = "127.0.0.1";
  o.port = port;
  o.node_id = "0";
  o.key_id = "abcd1234";
  o.batch_max = 64;
  o.linger = 1ms;
  o.request_timeout = 2000ms;
  o.connect_timeout = 1000ms;
  o.backoff_initial = 5ms;
  o.backoff_max = 50ms;
  return o;
}

// A forwarder with its metrics registry and client thread.
struct Harness {
  explicit Harness(ForwarderOptions options, Forwarder::AckCallback on_ack = {}) {
    forwarder = Forwarder::Create(io.ioc(), std::move(options),
                                  ForwarderMetrics::Register(registry, "w1"), std::move(on_ack));
  }
  ~Harness() { forwarder->Shutdown(); }

  MetricsRegistry registry;
  testing::TestIoThread io;
  std::shared_ptr<Forwarder> forwarder;
};

std::vector<BatchEvent> EnqueueRange(Forwarder& f, uint64_t from, uint64_t to) {
  std::vector<BatchEvent> sent;
  for (uint64_t i = from; i < to; ++i) {
    sent.push_back(MakeEvent(i));
    REQUIRE(f.Enqueue(sent.back()).result == EnqueueResult::kQueued);
  }
  return sent;
}

// Checks that a stream's requests form contiguous seqs: each accepted (or refused)
// request starts at or before the end of what was sent before it.
void CheckSeqsContiguous(const std::vector<FakeWorker::Received>& received) {
  uint64_t next = 1;
  for (const auto& r : received) {
    CHECK(r.seq >= 1);
    CHECK(r.seq <= next);
    next = std::max(next, r.seq + r.lines);
  }
}

TEST_CASE("a forwarder delivers every event exactly once in order with contiguous seqs",
          "[api][forwarder]") {
  FakeWorker worker;
  Harness h(Options(worker.port()));
  std::vector<BatchEvent> sent;
  for (uint64_t burst = 0; burst < 20; ++burst) {
    auto part = EnqueueRange(*h.forwarder, burst * 500, (burst + 1) * 500);
    sent.insert(sent.end(), part.begin(), part.end());
  }
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == sent.size(); }, 20s));
  CHECK(worker.applied() == sent);
  CHECK(worker.duplicates() == 0);
  CHECK(worker.bad_bodies() == 0);
  const auto received = worker.received();
  CheckSeqsContiguous(received);
  for (const auto& r : received) {
    CHECK(r.lines <= 64);
    CHECK(r.stream == h.forwarder->stream_id());
  }
  CHECK(h.forwarder->queued() == 0);
  CHECK(h.forwarder->retries() == 0);
  const std::string metrics = h.registry.Render();
  CHECK(metrics.find("rt_api_forwarded_events_total{worker=\"w1\"} 10000") != std::string::npos);
  CHECK(metrics.find("rt_api_forward_queue_depth{worker=\"w1\"} 0") != std::string::npos);
}

TEST_CASE("a forwarder resends the same seqs and body after failures", "[api][forwarder]") {
  FakeWorker worker;
  worker.FailNext(3);
  Harness h(Options(worker.port()));
  const auto sent = EnqueueRange(*h.forwarder, 0, 40);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 40; }));
  CHECK(worker.applied() == sent);
  const auto received = worker.received();
  REQUIRE(received.size() >= 4);
  for (size_t i = 1; i < 4; ++i) {
    CHECK(received[i].seq == received[0].seq);
    CHECK(received[i].body == received[0].body);
    CHECK(received[i].stream == received[0].stream);
  }
  CHECK(h.forwarder->retries() == 3);
  CheckSeqsContiguous(received);
}

TEST_CASE("a forwarder retry after a lost answer is not counted twice", "[api][forwarder]") {
  FakeWorker worker;
  worker.LoseAnswerOfNext(1);
  auto options = Options(worker.port());
  options.request_timeout = 200ms;  // the lost answer is noticed by the timeout
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 30);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 30; }));
  CHECK(worker.applied() == sent);
  // The batch reached the worker twice and counted once. Who resent it depends on
  // timing: the Forwarder after the timeout (a retry), or the ClientConnection at once
  // when the batch went out on a connection reused from the mark request (a peer
  // close there is resent transparently, client_connection.h), so retries() may be 0.
  CHECK(worker.duplicates() > 0);
}

TEST_CASE("a forwarder keeps queueing while its worker is down and delivers after a restart",
          "[api][forwarder]") {
  FakeWorker worker;
  const uint16_t port = worker.port();
  Harness h(Options(port));
  auto sent = EnqueueRange(*h.forwarder, 0, 10);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 10; }));
  worker.Stop();
  auto more = EnqueueRange(*h.forwarder, 10, 300);
  sent.insert(sent.end(), more.begin(), more.end());
  REQUIRE(WaitFor([&] { return h.forwarder->retries() >= 2; }));
  CHECK(h.forwarder->acked_seq() == 10);
  CHECK(h.forwarder->queued() == 290);
  worker.Start(port);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 300; }, 20s));
  CHECK(worker.applied() == sent);
  CheckSeqsContiguous(worker.received());
}

TEST_CASE("a forwarder refuses events once its queue is full", "[api][forwarder]") {
  FakeWorker worker;
  const uint16_t port = worker.port();
  worker.Stop();  // nothing listens: every send fails
  auto options = Options(port);
  options.queue_limit = 10;
  Harness h(options);
  for (int i = 0; i < 10; ++i)
    CHECK(h.forwarder->Enqueue(MakeEvent(i)).result == EnqueueResult::kQueued);
  CHECK(h.forwarder->Enqueue(MakeEvent(10)).result == EnqueueResult::kQueueFull);
  CHECK(h.forwarder->queued() == 10);
  CHECK(h.registry.Render().find("rt_api_forward_queue_full_total{worker=\"w1\"} 1") !=
        std::string::npos);
  worker.Start(port);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 10; }));
  CHECK(h.forwarder->Enqueue(MakeEvent(11)).result == EnqueueResult::kQueued);
}

TEST_CASE("a forwarder flushes a partial batch after the linger", "[api][forwarder]") {
  FakeWorker worker;
  auto options = Options(worker.port());
  options.batch_max = 1000;
  options.linger = 5ms;
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 3);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 3; }));
  CHECK(worker.applied() == sent);
  const auto received = worker.received();
  REQUIRE(received.size() == 1);
  CHECK(received[0].lines == 3);
  CHECK(received[0].seq == 1);
}

TEST_CASE("a forwarder cuts batches at batch_max without waiting for the linger",
          "[api][forwarder]") {
  FakeWorker worker;
  auto options = Options(worker.port());
  options.batch_max = 100;
  options.linger = 600s;  // only full batches (and Drain) may go out
  Harness h(options);
  auto sent = EnqueueRange(*h.forwarder, 0, 250);
  // Fewer than batch_max events can be left lingering: at least 151 go out at once.
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() >= 151; }, 20s));
  for (const auto& r : worker.received()) CHECK(r.lines <= 100);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(h.forwarder->acked_seq() == 250);
  CHECK(worker.applied() == sent);
}

TEST_CASE("draining a forwarder delivers everything queued", "[api][forwarder]") {
  FakeWorker worker;
  auto options = Options(worker.port());
  options.linger = 600s;
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 5);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(h.forwarder->acked_seq() == 5);
  CHECK(worker.applied() == sent);
}

TEST_CASE("draining a forwarder whose worker is down reports the undelivered events",
          "[api][forwarder]") {
  FakeWorker worker;
  const uint16_t port = worker.port();
  worker.Stop();
  Harness h(Options(port));
  (void)EnqueueRange(*h.forwarder, 0, 7);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 100ms) == 7);
}

TEST_CASE("a forwarder flags a key id mismatch from the typed answer and keeps its events",
          "[api][forwarder]") {
  FakeWorker worker;  // its refusal text does not mention "key id": only the header does
  worker.SetKeyId("ffff0000");
  Harness h(Options(worker.port()));
  (void)EnqueueRange(*h.forwarder, 0, 5);
  REQUIRE(WaitFor([&] { return h.forwarder->KeyMismatch(); }));
  CHECK(h.forwarder->acked_seq() == 0);
  CHECK(h.forwarder->queued() == 5);
  CHECK(worker.applied_count() == 0);
  CHECK(h.forwarder->Undeliverable() == std::optional<std::string>("key mismatch with worker w1"));
  // Events for a worker that refuses our key are not accepted (the POST gets a 503).
  CHECK(h.forwarder->Enqueue(MakeEvent(5)).result == EnqueueResult::kUndeliverable);
  CHECK(h.forwarder->queued() == 5);
  const std::string metrics = h.registry.Render();
  CHECK(metrics.find("rt_api_forward_state{worker=\"w1\"} 1") != std::string::npos);
  CHECK(metrics.find("rt_api_forward_undeliverable_total{worker=\"w1\"} 1") != std::string::npos);
}

TEST_CASE("a forwarder recovers from a key mismatch once the worker accepts the key",
          "[api][forwarder]") {
  FakeWorker worker;
  worker.SetKeyId("ffff0000");
  Harness h(Options(worker.port()));
  auto sent = EnqueueRange(*h.forwarder, 0, 5);
  REQUIRE(WaitFor([&] { return h.forwarder->KeyMismatch(); }));
  worker.SetKeyId("abcd1234");  // an operator fixed the secret
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 5; }));
  CHECK_FALSE(h.forwarder->KeyMismatch());
  CHECK_FALSE(h.forwarder->Undeliverable().has_value());
  auto more = EnqueueRange(*h.forwarder, 5, 8);
  sent.insert(sent.end(), more.begin(), more.end());
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 8; }));
  CHECK(worker.applied() == sent);
}

// A clock a test moves, read from the forwarder's thread.
class MovableClock final : public Clock {
 public:
  explicit MovableClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

TEST_CASE("a forwarder refused with 401 stops accepting events and recovers with the right key",
          "[api][forwarder][auth]") {
  const MovableClock clock(1'764'000'000'000);
  const WorkerKey ours = WorkerKey::Derive("the API nodes' cluster secret");
  FakeWorker worker;
  worker.RequireSignature(WorkerKey::Derive("another cluster's secret!"), &clock);
  ForwarderOptions options = Options(worker.port());
  options.signer = std::make_shared<const RequestSigner>(ours, clock);
  Harness h(options);
  auto sent = EnqueueRange(*h.forwarder, 0, 5);
  REQUIRE(WaitFor([&] { return h.forwarder->KeyMismatch(); }));
  CHECK(worker.applied_count() == 0);
  CHECK(h.forwarder->queued() == 5);
  CHECK_THAT(h.forwarder->Undeliverable().value_or(""),
             Catch::StartsWith("worker w1 refuses our signature (answered 401"));
  CHECK(h.forwarder->Enqueue(MakeEvent(5)).result == EnqueueResult::kUndeliverable);
  CHECK(h.registry.Render().find("rt_api_forward_unauthorized_total{worker=\"w1\"} ") !=
        std::string::npos);
  worker.RequireSignature(ours, &clock);  // the operator installs the right worker key
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 5; }));
  CHECK_FALSE(h.forwarder->KeyMismatch());
  CHECK(worker.applied() == sent);
}

TEST_CASE("a forwarder re-signs every resend, so a fixed clock skew recovers",
          "[api][forwarder][auth]") {
  const MovableClock worker_clock(1'764'000'000'000);
  MovableClock node_clock(1'764'000'000'000 + 400'000);  // 400 s ahead
  const WorkerKey key = WorkerKey::Derive("the API nodes' cluster secret");
  FakeWorker worker;
  worker.RequireSignature(key, &worker_clock);
  ForwarderOptions options = Options(worker.port());
  options.signer = std::make_shared<const RequestSigner>(key, node_clock);
  Harness h(options);
  auto sent = EnqueueRange(*h.forwarder, 0, 5);
  REQUIRE(WaitFor([&] { return h.forwarder->KeyMismatch(); }));
  CHECK_THAT(h.forwarder->Undeliverable().value_or(""),
             Catch::Contains("signature timestamp 400 s from this worker's clock"));
  node_clock.Set(1'764'000'000'000 + 10'000);  // NTP fixed the node's clock
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 5; }));
  CHECK(worker.applied() == sent);
  CHECK(worker.unauthorized() >= 1);
}

TEST_CASE("a forwarder resumes from the header's seq whatever the 409's reason says",
          "[api][forwarder]") {
  FakeWorker worker;
  worker.ApplyPrefixOfNext(4);
  // A reworded reason that even names another number: only X-Rt-Expected-Seq counts.
  worker.SetGapReason("Lücke im Strom; bitte ab Nummer 9 erneut senden");
  auto options = Options(worker.port());
  options.linger = 600s;
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 10);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(worker.applied() == sent);
  CHECK(worker.duplicates() == 0);
  const auto received = worker.received();
  REQUIRE(received.size() == 2);
  CHECK(received[1].seq == 5);
  CHECK(received[1].lines == 6);
  CHECK(h.forwarder->retries() == 0);
}

TEST_CASE("a forwarder does not read the expected seq from the text of an untyped 409",
          "[api][forwarder]") {
  FakeWorker worker;
  worker.ApplyPrefixOfNext(4);
  worker.OmitTypedHeadersOfNext(1);  // "expected seq 5" in the text, no header
  auto options = Options(worker.port());
  options.linger = 600s;
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 10);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(worker.applied() == sent);
  // The untyped answer was a failure resent whole (seq 1), not a resume from seq 5.
  const auto received = worker.received();
  REQUIRE(received.size() == 2);
  CHECK(received[1].seq == 1);
  CHECK(received[1].lines == 10);
  CHECK(worker.duplicates() == 4);
  CHECK(h.forwarder->retries() == 1);
}

TEST_CASE("an ack beyond the seqs sent raises an alarm and resends on a new stream",
          "[api][forwarder]") {
  FakeWorker worker;
  Harness h(Options(worker.port()));
  auto sent = EnqueueRange(*h.forwarder, 0, 10);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 10; }));
  const std::string old_stream = h.forwarder->stream_id();
  // Another sender moved this stream's mark: the next batch is skipped as duplicates
  // and acked beyond its last seq.
  worker.AdvanceMarkBeforeNext(7);
  auto more = EnqueueRange(*h.forwarder, 10, 20);
  sent.insert(sent.end(), more.begin(), more.end());
  REQUIRE(WaitFor([&] { return worker.applied_count() == 20; }));
  REQUIRE(WaitFor([&] { return h.forwarder->queued() == 0; }));
  // Exact totals: every event counted once, none lost to the moved mark.
  CHECK(worker.applied() == sent);
  CHECK(h.forwarder->stream_id() != old_stream);
  CHECK(h.forwarder->acked_seq() == 10);  // the ten events, on the new stream
  const auto received = worker.received();
  CHECK(received.back().stream == h.forwarder->stream_id());
  CHECK(received.back().seq == 1);
  const std::string metrics = h.registry.Render();
  CHECK(metrics.find("rt_api_forward_alarms_total{worker=\"w1\",reason=\"ack_beyond_sent\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("rt_api_forwarded_events_total{worker=\"w1\"} 20") != std::string::npos);
}

TEST_CASE("a batch refused with a 400 stops the stream instead of retrying forever",
          "[api][forwarder]") {
  FakeWorker worker;
  worker.RefuseWith(http::StatusCode::bad_request);
  Harness h(Options(worker.port()));  // backoff 5..50 ms: a retrying forwarder would be busy
  (void)EnqueueRange(*h.forwarder, 0, 7);
  REQUIRE(WaitFor([&] { return h.forwarder->Stopped(); }));
  const std::optional<std::string> why = h.forwarder->Undeliverable();
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Catch::StartsWith("stream to worker w1 stopped: it answered 400") &&
                       Catch::Contains("injected refusal"));
  CHECK(why->find('\n') == std::string::npos);
  // The events stay counted as undelivered, and Drain says so at once.
  CHECK(h.forwarder->queued() == 7);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 7);
  CHECK(h.forwarder->Enqueue(MakeEvent(7)).result == EnqueueResult::kUndeliverable);
  // No endless retries: within many backoff periods the worker sees no second request.
  CHECK_FALSE(WaitFor([&] { return worker.received().size() > 1; }, 500ms));
  CHECK(worker.received().size() == 1);
  CHECK(h.forwarder->retries() == 0);
  const std::string metrics = h.registry.Render();
  CHECK(metrics.find("rt_api_forward_stopped_total{worker=\"w1\"} 1") != std::string::npos);
  CHECK(metrics.find("rt_api_forward_state{worker=\"w1\"} 2") != std::string::npos);
  CHECK(metrics.find("rt_api_forward_queue_depth{worker=\"w1\"} 7") != std::string::npos);
}

TEST_CASE("a stopped stream resumes when the worker moves to a new address", "[api][forwarder]") {
  FakeWorker wrong;  // e.g. a config pointing at something that is not this worker
  wrong.RefuseWith(http::StatusCode::not_found);
  FakeWorker right;
  Harness h(Options(wrong.port()));
  const auto sent = EnqueueRange(*h.forwarder, 0, 6);
  REQUIRE(WaitFor([&] { return h.forwarder->Stopped(); }));
  h.forwarder->SetAddress("127.0.0.1", right.port());
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 6; }));
  CHECK_FALSE(h.forwarder->Stopped());
  CHECK(right.applied() == sent);
  CHECK(h.forwarder->Enqueue(MakeEvent(6)).result == EnqueueResult::kQueued);
}

TEST_CASE("a forwarder retries 408 and 429 answers like a 5xx", "[api][forwarder]") {
  const auto code =
      GENERATE(http::StatusCode::request_timeout, http::StatusCode::too_many_requests);
  FakeWorker worker;
  worker.AnswerNext(3, code);
  Harness h(Options(worker.port()));
  const auto sent = EnqueueRange(*h.forwarder, 0, 12);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 12; }));
  CHECK(worker.applied() == sent);
  CHECK(h.forwarder->retries() == 3);
  CHECK_FALSE(h.forwarder->Stopped());
}

TEST_CASE("a forwarder resends from the seq a 409 names", "[api][forwarder]") {
  FakeWorker worker;
  worker.ApplyPrefixOfNext(4);
  auto options = Options(worker.port());
  options.linger = 600s;
  Harness h(options);
  const auto sent = EnqueueRange(*h.forwarder, 0, 10);
  CHECK(h.forwarder->Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(worker.applied() == sent);
  CHECK(worker.duplicates() == 0);
  const auto received = worker.received();
  REQUIRE(received.size() == 2);
  CHECK(received[0].seq == 1);
  CHECK(received[0].lines == 10);
  CHECK(received[1].seq == 5);
  CHECK(received[1].lines == 6);
}

TEST_CASE("a forwarder continues on a new stream when the worker lost its marks",
          "[api][forwarder]") {
  FakeWorker worker;
  Harness h(Options(worker.port()));
  auto sent = EnqueueRange(*h.forwarder, 0, 10);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 10; }));
  const std::string old_stream = h.forwarder->stream_id();
  worker.ForgetMarks();
  auto more = EnqueueRange(*h.forwarder, 10, 15);
  sent.insert(sent.end(), more.begin(), more.end());
  REQUIRE(WaitFor([&] { return worker.applied_count() == 15; }));
  CHECK(worker.applied() == sent);
  CHECK(h.forwarder->stream_id() != old_stream);
  const auto received = worker.received();
  CHECK(received.back().stream == h.forwarder->stream_id());
  CHECK(received.back().seq == 1);
}

TEST_CASE("a forwarder hands the acked slices' stats to its callback", "[api][forwarder]") {
  FakeWorker worker;
  std::mutex mutex;
  std::map<int64_t, SliceStats> latest;
  std::set<std::string> ids;
  Harness h(
      Options(worker.port()), [&](const std::string& id, std::string_view, const BatchAck& ack) {
        std::lock_guard lock(mutex);  // Catch assertions are not thread-safe: record, check later
        ids.insert(id);
        for (const auto& [slice, stats] : ack.slices) latest[slice] = stats;
      });
  (void)EnqueueRange(*h.forwarder, 0, 12);  // slices 0, 1, 2; every 4th a click
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 12; }));
  // The forwarder publishes acked_seq before it calls the callback: wait for the
  // callback to have seen every event too.
  REQUIRE(WaitFor([&] {
    std::lock_guard lock(mutex);
    uint64_t events = 0;
    for (const auto& [slice, stats] : latest) events += stats.clicks + stats.impressions;
    return events == 12;
  }));
  std::lock_guard lock(mutex);
  CHECK(ids == std::set<std::string>{"w1"});
  REQUIRE(latest.size() == 3);
  uint64_t clicks = 0;
  uint64_t impressions = 0;
  for (const auto& [slice, stats] : latest) {
    clicks += stats.clicks;
    impressions += stats.impressions;
    CHECK(stats.unique_users == 4);
  }
  CHECK(clicks == 3);
  CHECK(impressions == 9);
}

std::string WorkerUrl(uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/worker";
}

TEST_CASE("a forwarder set routes events to their worker and reports a key mismatch",
          "[api][forwarder]") {
  FakeWorker one;
  FakeWorker two;
  two.SetKeyId("ffff0000");
  MetricsRegistry registry;
  testing::TestIoThread io;
  ForwarderSetOptions options;
  options.node_id = "0";
  options.key_id = "abcd1234";
  ForwarderSet set(io.ioc(), options, registry, {});
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(one.port())}, {"2", WorkerUrl(two.port())}}).ok());
  CHECK_FALSE(set.SetWorkers({{"3", "https://x/worker"}}).ok());
  CHECK(set.Enqueue(ReplicaSet{"3"}, MakeEvent(0)).result == EnqueueResult::kQueueFull);
  CHECK_FALSE(set.Unhealthy().has_value());
  std::vector<BatchEvent> sent;
  for (uint64_t i = 0; i < 20; ++i) {
    sent.push_back(MakeEvent(i));
    REQUIRE(set.Enqueue(ReplicaSet{"1"}, sent.back()).result == EnqueueResult::kQueued);
  }
  REQUIRE(set.Enqueue(ReplicaSet{"2"}, MakeEvent(99)).result == EnqueueResult::kQueued);
  REQUIRE(WaitFor([&] { return set.Unhealthy().has_value(); }));
  CHECK(*set.Unhealthy() == "key mismatch with worker 2");
  CHECK(set.Undeliverable(ReplicaSet{"2"}) ==
        std::optional<std::string>("key mismatch with worker 2"));
  CHECK_FALSE(set.Undeliverable(ReplicaSet{"1"}).has_value());
  CHECK(set.Enqueue(ReplicaSet{"2"}, MakeEvent(98)).result == EnqueueResult::kUndeliverable);
  CHECK(set.Drain(std::chrono::steady_clock::now() + 200ms) == 1);  // worker 2's event
  CHECK(one.applied() == sent);
  CHECK(registry.Render().find("rt_api_forwarded_events_total{worker=\"1\"} 20") !=
        std::string::npos);
}

TEST_CASE("a forwarder set reports a stopped stream and keeps serving the other workers",
          "[api][forwarder]") {
  FakeWorker good;
  FakeWorker bad;
  bad.RefuseWith(http::StatusCode::bad_request);
  MetricsRegistry registry;
  testing::TestIoThread io;
  ForwarderSetOptions options;
  options.node_id = "0";
  options.key_id = "abcd1234";
  ForwarderSet set(io.ioc(), options, registry, {});
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(good.port())}, {"2", WorkerUrl(bad.port())}}).ok());
  REQUIRE(set.Enqueue(ReplicaSet{"2"}, MakeEvent(0)).result == EnqueueResult::kQueued);
  REQUIRE(WaitFor([&] { return set.Unhealthy().has_value(); }));
  CHECK_THAT(*set.Unhealthy(), Catch::StartsWith("stream to worker 2 stopped: it answered 400"));
  CHECK(set.Enqueue(ReplicaSet{"2"}, MakeEvent(1)).result == EnqueueResult::kUndeliverable);
  std::vector<BatchEvent> sent;
  for (uint64_t i = 0; i < 5; ++i) {
    sent.push_back(MakeEvent(i));
    REQUIRE(set.Enqueue(ReplicaSet{"1"}, sent.back()).result == EnqueueResult::kQueued);
  }
  // The stopped worker's event is reported undelivered without waiting for the deadline.
  CHECK(set.Drain(std::chrono::steady_clock::now() + 20s) == 1);
  CHECK(good.applied() == sent);
  CHECK(bad.received().size() == 1);
  CHECK(registry.Render().find("rt_api_forward_stopped_total{worker=\"2\"} 1") !=
        std::string::npos);
}

TEST_CASE("a forwarder set is not ready while a listed worker fails, and ready once it acks",
          "[api][forwarder]") {
  FakeWorker good;
  FakeWorker failing;
  failing.RefuseWith(http::StatusCode::service_unavailable);
  MetricsRegistry registry;
  testing::TestIoThread io;
  ForwarderSetOptions options;
  options.node_id = "0";
  options.key_id = "abcd1234";
  ForwarderSet set(io.ioc(), options, registry, {});
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(good.port())}, {"2", WorkerUrl(failing.port())}}).ok());
  CHECK_FALSE(set.NotReady({{"1"}, {"2"}}, 100).has_value());
  REQUIRE(set.Enqueue(ReplicaSet{"2"}, MakeEvent(0)).result == EnqueueResult::kQueued);
  REQUIRE(WaitFor([&] { return set.NotReady({{"1"}, {"2"}}, 100).has_value(); }));
  CHECK(*set.NotReady({{"1"}, {"2"}}, 100) ==
        "worker 2 unreachable: its last batch failed and is being retried");
  // Only the workers asked about count: worker 2 is not in the current slice here.
  CHECK_FALSE(set.NotReady({{"1"}}, 100).has_value());
  // A 503 is not a refusal that needs an operator: /healthz stays fine.
  CHECK_FALSE(set.Unhealthy().has_value());
  failing.AcceptAgain();
  REQUIRE(WaitFor([&] { return !set.NotReady({{"1"}, {"2"}}, 100).has_value(); }, 20s));
  CHECK(set.Drain(std::chrono::steady_clock::now() + 20s) == 0);
}

TEST_CASE("a forwarder set is not ready while a listed worker's queue is over the threshold",
          "[api][forwarder]") {
  FakeWorker worker;
  MetricsRegistry registry;
  testing::TestIoThread io;
  ForwarderSetOptions options;
  options.node_id = "0";
  options.key_id = "abcd1234";
  options.linger = std::chrono::hours(1);  // a partial batch waits: the queue stays put
  ForwarderSet set(io.ioc(), options, registry, {});
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(worker.port())}}).ok());
  for (uint64_t i = 0; i < 3; ++i)
    REQUIRE(set.Enqueue(ReplicaSet{"1"}, MakeEvent(i)).result == EnqueueResult::kQueued);
  CHECK_FALSE(set.NotReady({{"1"}}, 3).has_value());
  CHECK(set.NotReady({{"1"}}, 2) == "forwarding queue of worker 1 holds 3 events (threshold 2)");
  CHECK(set.Drain(std::chrono::steady_clock::now() + 20s) == 0);
}

TEST_CASE("a forwarder set keeps a moved worker's stream and seqs", "[api][forwarder]") {
  FakeWorker worker;
  MetricsRegistry registry;
  testing::TestIoThread io;
  ForwarderSetOptions options;
  options.node_id = "0";
  options.key_id = "abcd1234";
  ForwarderSet set(io.ioc(), options, registry, {});
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(worker.port())}}).ok());
  std::vector<BatchEvent> sent;
  for (uint64_t i = 0; i < 5; ++i) {
    sent.push_back(MakeEvent(i));
    REQUIRE(set.Enqueue(ReplicaSet{"1"}, sent.back()).result == EnqueueResult::kQueued);
  }
  REQUIRE(set.Drain(std::chrono::steady_clock::now() + 20s) == 0);
  const std::string stream = set.Find("1")->stream_id();
  const size_t requests_before_move = worker.received().size();
  worker.Stop();
  worker.Start(0);  // same data, new port
  REQUIRE(set.SetWorkers({{"1", WorkerUrl(worker.port())}}).ok());
  for (uint64_t i = 5; i < 10; ++i) {
    sent.push_back(MakeEvent(i));
    REQUIRE(set.Enqueue(ReplicaSet{"1"}, sent.back()).result == EnqueueResult::kQueued);
  }
  CHECK(set.Drain(std::chrono::steady_clock::now() + 20s) == 0);
  CHECK(worker.applied() == sent);
  CHECK(set.Find("1")->stream_id() == stream);
  // The moved worker's first request continues the stream at seq 6 (the five later
  // events may arrive in one batch or, if the linger fires between them, in several).
  const auto received = worker.received();
  REQUIRE(received.size() > requests_before_move);
  CHECK(received[requests_before_move].seq == 6);
}

TEST_CASE("stream ids are unique within the process", "[api][forwarder]") {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(NewStreamId("7"));
  CHECK(ids.size() == 100);
  CHECK(ids.begin()->rfind("7:", 0) == 0);
}

}  // namespace
}  // namespace rt
