// The Forwarder over an EventSpool (docs/design.md §13 "Spool"): resuming a spool
// that holds records, a worker ahead of the spool, gaps, and a worker older than
// GET /worker/mark.
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/api/forwarder.h"
#include "server/api/spool/memory_spool.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/model/batch_codec.h"
#include "tests/support/io_thread.h"
#include "tests/support/wait_for.h"
#include "tests/unit/api/fake_worker.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::FakeWorker;
using testing::WaitFor;

BatchEvent Event(uint64_t i) {
  BatchEvent e;
  e.slice = static_cast<int64_t>(i % 5);
  e.key.bytes[0] = static_cast<uint8_t>(i);
  e.key.bytes[1] = static_cast<uint8_t>(i >> 8);
  e.action = i % 3 == 0 ? Action::kClick : Action::kImpression;
  return e;
}

void AppendEvents(EventSpool& spool, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    std::string line;
    AppendBatchLine(line, Event(i));
    REQUIRE(spool.Append(line).ok());
  }
}

std::vector<BatchEvent> Events(uint64_t from, uint64_t to) {
  std::vector<BatchEvent> events;
  for (uint64_t i = from; i < to; ++i) events.push_back(Event(i));
  return events;
}

// A MemorySpool whose records [gap.first, gap.last] are lost, as a FileSpool reports
// a corrupt segment found at open: Read stops before them and finds nothing at them.
class GappySpool final : public EventSpool {
 public:
  GappySpool(uint64_t limit, Gap gap) : inner_(limit), gap_(gap) {}
  Result<uint64_t> Append(std::string_view payload) override { return inner_.Append(payload); }
  void WhenDurable(uint64_t seq, std::function<void()> done) override {
    inner_.WhenDurable(seq, std::move(done));
  }
  size_t Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) override {
    if (from >= gap_.first && from <= gap_.last) return 0;
    if (from < gap_.first) max_records = std::min<size_t>(max_records, gap_.first - from);
    return inner_.Read(from, max_records, max_bytes, body);
  }
  std::optional<Gap> GapAt(uint64_t seq) const override {
    if (seq >= gap_.first && seq <= gap_.last) return Gap{seq, gap_.last};
    return std::nullopt;
  }
  void Acknowledge(uint64_t seq) override { inner_.Acknowledge(seq); }
  Stream stream() const override { return inner_.stream(); }
  Status StartNewStream(Stream stream) override { return inner_.StartNewStream(stream); }
  uint64_t next_seq() const override { return inner_.next_seq(); }
  uint64_t acknowledged() const override { return inner_.acknowledged(); }
  uint64_t events() const override { return inner_.events(); }
  uint64_t bytes() const override { return inner_.bytes(); }
  int64_t oldest_unacknowledged_ms() const override { return inner_.oldest_unacknowledged_ms(); }

 private:
  MemorySpool inner_;
  const Gap gap_;
};

ForwarderOptions Options(uint16_t port, std::shared_ptr<EventSpool> spool) {
  ForwarderOptions o;
  o.worker_id = "w1";
  o.host = "127.0.0.1";
  o.port = port;
  o.node_id = "0";
  o.key_id = "abcd1234";
  o.batch_max = 16;
  o.linger = 1ms;
  o.request_timeout = 2000ms;
  o.connect_timeout = 1000ms;
  o.backoff_initial = 5ms;
  o.backoff_max = 50ms;
  o.spool = std::move(spool);
  return o;
}

struct Harness {
  explicit Harness(ForwarderOptions options) {
    forwarder =
        Forwarder::Create(io.ioc(), std::move(options), ForwarderMetrics::Register(registry, "w1"));
  }
  ~Harness() { forwarder->Shutdown(); }

  MetricsRegistry registry;
  testing::TestIoThread io;
  std::shared_ptr<Forwarder> forwarder;
};

TEST_CASE("a forwarder started on a spool sends only what the worker's mark lacks",
          "[api][forwarder][spool]") {
  FakeWorker worker;
  auto spool = std::make_shared<MemorySpool>(1000);
  REQUIRE(spool->StartNewStream({"0:resumed", 0}).ok());
  AppendEvents(*spool, 1, 101);  // records 1..100, as a restarted node finds them
  worker.SetMark("0:resumed", 60);
  Harness h(Options(worker.port(), spool));
  // The spool's records go out without a new event.
  REQUIRE(WaitFor([&] { return spool->acknowledged() == 100; }, 20s));
  CHECK(worker.applied() == Events(61, 101));
  CHECK(worker.duplicates() == 0);
  const auto received = worker.received();
  REQUIRE(!received.empty());
  CHECK(received.front().seq == 61);
  for (const auto& r : received) CHECK(r.stream == "0:resumed");
  CHECK(worker.mark_requests() == 1);
  CHECK(h.forwarder->stream_id() == "0:resumed");
  CHECK(h.forwarder->acked_seq() == 100);
  CHECK(h.forwarder->queued() == 0);
  // New events continue the same stream.
  REQUIRE(h.forwarder->Enqueue(Event(101)).result == EnqueueResult::kQueued);
  REQUIRE(WaitFor([&] { return h.forwarder->acked_seq() == 101; }, 20s));
  CHECK(worker.applied().back() == Event(101));
  CHECK(worker.received().back().stream == "0:resumed");
}

TEST_CASE("a worker ahead of the spool gets the events accepted since the start on a new stream",
          "[api][forwarder][spool]") {
  FakeWorker worker;
  auto spool = std::make_shared<MemorySpool>(1000);
  REQUIRE(spool->StartNewStream({"0:old", 0}).ok());
  AppendEvents(*spool, 1, 11);  // records 1..10; the worker has 15 of this stream
  worker.SetMark("0:old", 15);
  Harness h(Options(worker.port(), spool));
  REQUIRE(WaitFor([&] { return spool->acknowledged() == 10; }, 20s));
  CHECK(worker.applied().empty());  // 1..10 are the worker's already
  // On the old stream these would be seqs 11..15: skipped as duplicates.
  for (uint64_t i = 11; i <= 15; ++i) {
    REQUIRE(h.forwarder->Enqueue(Event(i)).result == EnqueueResult::kQueued);
  }
  REQUIRE(WaitFor([&] { return spool->acknowledged() == 15; }, 20s));
  CHECK(worker.applied() == Events(11, 16));
  CHECK(worker.duplicates() == 0);
  CHECK(spool->stream().id != "0:old");
  CHECK(spool->stream().base == 10);
  for (const auto& r : worker.received()) {
    CHECK(r.stream == spool->stream().id);
    CHECK(r.seq >= 1);
  }
  CHECK(worker.received().front().seq == 1);
}

TEST_CASE("a gap in the spool is counted as lost and the rest goes on a new stream",
          "[api][forwarder][spool]") {
  FakeWorker worker;
  auto spool = std::make_shared<GappySpool>(1000, EventSpool::Gap{21, 30});
  REQUIRE(spool->StartNewStream({"0:gappy", 0}).ok());
  AppendEvents(*spool, 1, 51);  // records 1..50, 21..30 lost
  Harness h(Options(worker.port(), spool));
  REQUIRE(WaitFor([&] { return spool->acknowledged() == 50; }, 20s));
  std::vector<BatchEvent> expected = Events(1, 21);
  for (const BatchEvent& e : Events(31, 51)) expected.push_back(e);
  CHECK(worker.applied() == expected);
  CHECK(worker.duplicates() == 0);
  const auto received = worker.received();
  for (const auto& r : received) {
    if (r.stream == "0:gappy") {
      CHECK(r.seq + r.lines - 1 <= 20);  // no batch spans the gap
    } else {
      CHECK(r.stream == spool->stream().id);
    }
  }
  CHECK(received.back().stream != "0:gappy");
  CHECK(spool->stream().base == 30);
  CHECK(h.registry.Render().find("rt_api_spool_lost_events_total{worker=\"w1\"} 10") !=
        std::string::npos);
}

TEST_CASE("a worker without the mark endpoint is resumed from the spool's cursor",
          "[api][forwarder][spool]") {
  FakeWorker worker;
  worker.ServeMark(false);
  auto spool = std::make_shared<MemorySpool>(1000);
  REQUIRE(spool->StartNewStream({"0:cursor", 0}).ok());
  AppendEvents(*spool, 1, 21);
  spool->Acknowledge(5);  // the cursor: 1..5 were acked before the restart
  worker.SetMark("0:cursor", 8);
  Harness h(Options(worker.port(), spool));
  REQUIRE(WaitFor([&] { return spool->acknowledged() == 20; }, 20s));
  // 6..8 are resent and skipped by the worker's mark: nothing counted twice.
  CHECK(worker.applied() == Events(9, 21));
  CHECK(worker.duplicates() == 3);
  CHECK(worker.received().front().seq == 6);
}

TEST_CASE("a forwarder refused with 401 on its mark request stops accepting events",
          "[api][forwarder][spool]") {
  const SystemClock clock;
  FakeWorker worker;
  worker.RequireSignature(WorkerKey::Derive("the worker's secret, another one"));
  auto options = Options(worker.port(), nullptr);
  options.signer = std::make_shared<const RequestSigner>(
      WorkerKey::Derive("this node's secret, not the worker's"), clock);
  Harness h(options);
  REQUIRE(h.forwarder->Enqueue(Event(1)).result == EnqueueResult::kQueued);
  REQUIRE(WaitFor([&] { return h.forwarder->KeyMismatch(); }, 20s));
  CHECK(worker.unauthorized() >= 1);
  CHECK(worker.received().empty());  // no batch before the mark is known
  CHECK(h.forwarder->Enqueue(Event(2)).result == EnqueueResult::kUndeliverable);
}

}  // namespace
}  // namespace rt
