// A stale replica member (docs/design.md §14 "Replica sets", Stale members), against a
// real in-process WorkerNode over HTTP on 127.0.0.1: POST /worker/stale records the
// state only when the worker is really behind, the state survives a restart, and a
// stale worker answers no read or batch (its numbers lack events) while its marks stay
// readable.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "server/model/replica_marks.h"
#include "server/model/slice_stats.h"
#include "server/model/worker_protocol.h"
#include "server/worker/stale_state.h"
#include "server/worker/worker_node.h"
#include "tests/support/http_test_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

namespace bhttp = boost::beast::http;

std::string Body(int from, int count) {
  std::string body;
  char hex[33];
  for (int i = from; i < from + count; ++i) {
    std::snprintf(hex, sizeof hex, "%032x", i);
    body += "1 " + std::string(hex) + " c\n";
  }
  return body;
}

class Worker {
 public:
  explicit Worker(std::string data_dir) : data_dir_(std::move(data_dir)) { Start(); }

  void Start() {
    WorkerNodeOptions options;
    options.node_id = "1";
    options.data_dir = data_dir_;
    options.worker_key = testing::TestWorkerKey();
    options.server.threads = 1;
    auto started = WorkerNode::Start(options);
    REQUIRE(started.ok());
    node_ = std::move(started).value();
  }
  void Restart() {
    node_.reset();
    Start();
  }

  testing::TestResponse Fetch(
      bhttp::verb verb, const std::string& target, std::string body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto response =
        testing::SignedFetch(node_->endpoint().port(), verb, target, std::move(body), headers);
    REQUIRE(response);
    return std::move(*response);
  }
  testing::TestResponse Batch(uint64_t seq, std::string body,
                              const std::string& stream = "0:1@0a0b0c0d") {
    return Fetch(bhttp::verb::post, "/worker/batch", std::move(body),
                 {{"X-Rt-Stream", stream}, {"X-Rt-Seq", std::to_string(seq)}});
  }
  testing::TestResponse Stale(uint64_t mark, uint64_t need) {
    return Fetch(bhttp::verb::post, "/worker/stale?stream=0:1%400a0b0c0d&mark=" +
                                        std::to_string(mark) + "&need=" + std::to_string(need));
  }
  uint16_t port() const { return node_->endpoint().port(); }

 private:
  std::string data_dir_;
  std::unique_ptr<WorkerNode> node_;
};

void CheckStaleRefusal(const testing::TestResponse& response) {
  CHECK(response.result() == bhttp::status::service_unavailable);
  CHECK(response[kErrorHeader] == kStaleError);
  CHECK(response.body().find("worker 1 is stale: it has stream 0:1@0a0b0c0d up to seq 10") == 0);
  CHECK(response.body().find("reseed it (rtctl reseed-worker)\n") != std::string::npos);
}

TEST_CASE("a worker behind its set's spool records itself stale, durably, and serves no reads",
          "[worker][replica]") {
  testing::TempDir dir;
  Worker w(dir.Sub("data"));
  REQUIRE(w.Batch(1, Body(0, 10)).result() == bhttp::status::ok);

  // Not behind: the spool starts at seq 11 and the worker has up to 10; nothing changes.
  const testing::TestResponse not_behind = w.Stale(10, 11);
  CHECK(not_behind.result() == bhttp::status::conflict);
  CHECK(not_behind.body().find("not stale") == 0);
  CHECK(w.Fetch(bhttp::verb::get, "/worker?slice=1").result() == bhttp::status::ok);
  CHECK(testing::FetchMetric(w.port(), "rt_worker_stale") == 0);

  // Bad parameters are a 400 that records nothing.
  CHECK(w.Fetch(bhttp::verb::post, "/worker/stale?stream=x&mark=1").result() ==
        bhttp::status::bad_request);
  CHECK(w.Fetch(bhttp::verb::post, "/worker/stale?stream=x&mark=1&need=0").result() ==
        bhttp::status::bad_request);
  CHECK(w.Fetch(bhttp::verb::get, "/healthz").result() == bhttp::status::ok);

  // Behind: the spool starts at seq 50.
  const testing::TestResponse stale = w.Stale(10, 50);
  REQUIRE(stale.result() == bhttp::status::ok);
  CHECK(stale.body().find("worker 1 is stale") == 0);

  for (int restart = 0; restart < 2; ++restart) {
    INFO("after " << restart << " restarts");
    CheckStaleRefusal(w.Fetch(bhttp::verb::get, "/worker?slice=1"));
    CheckStaleRefusal(w.Fetch(bhttp::verb::get, "/worker/slices"));
    CheckStaleRefusal(w.Batch(11, Body(10, 1)));
    CheckStaleRefusal(w.Fetch(bhttp::verb::get, "/healthz"));
    CHECK(testing::FetchMetric(w.port(), "rt_worker_stale") == 1);
    // The three refusals above (per process: the counter starts at 0 at a restart).
    CHECK(testing::FetchMetric(w.port(), "rt_worker_rejected_total{reason=\"stale\"}") == 3);
    // The mark stays readable: API nodes keep asking it, a reseeded worker resumes.
    const testing::TestResponse mark =
        w.Fetch(bhttp::verb::get, "/worker/mark?stream=0:1%400a0b0c0d");
    CHECK(mark.result() == bhttp::status::ok);
    CHECK(mark.body().find("\"mark\":10") != std::string::npos);
    // Asked again, it stays stale with its first reason.
    CHECK(w.Stale(10, 80).result() == bhttp::status::ok);
    w.Restart();
  }

  std::ifstream file(dir.Sub("data") + "/" + StaleState::kFileName);
  std::string line;
  REQUIRE(std::getline(file, line));
  CHECK(line ==
        "it has stream 0:1@0a0b0c0d up to seq 10 and an API node's spool of its replica "
        "set starts at seq 50");
}

TEST_CASE("a replica member's answers carry its marks of the set's streams", "[worker][replica]") {
  testing::TempDir dir;
  auto w = std::make_unique<Worker>(dir.Sub("data"));               // restarted in the loop
  REQUIRE(w->Batch(1, Body(0, 10)).result() == bhttp::status::ok);  // seqs 1..10
  REQUIRE(w->Batch(1, Body(10, 4), "1:3@0a0b0c0d").result() == bhttp::status::ok);  // 1..4
  REQUIRE(w->Batch(1, Body(20, 2), "0:1@ffffffff").result() == bhttp::status::ok);  // another set
  const ReplicaMarks expected{false, {{"0:1@0a0b0c0d", 10}, {"1:3@0a0b0c0d", 4}}};

  for (int restart = 0; restart < 2; ++restart) {
    INFO("after " << restart << " restarts");  // marks are loaded from the files
    const testing::TestResponse answer =
        w->Fetch(bhttp::verb::get, "/worker?slice=1&marks=0a0b0c0d");
    REQUIRE(answer.result() == bhttp::status::ok);
    CHECK(ParseSliceStats(answer.body()).value() == SliceStats{16, 16, 0});
    Result<ReplicaMarks> marks = ParseReplicaMarks(std::string(answer[kMarksHeader]));
    REQUIRE(marks.ok());
    CHECK(*marks == expected);
    // Without the parameter, no header (sets of one, and older API nodes).
    const testing::TestResponse plain = w->Fetch(bhttp::verb::get, "/worker?slice=1");
    CHECK(plain[kMarksHeader].empty());
    CHECK(ParseSliceStats(plain.body()).value() == SliceStats{16, 16, 0});
    // Every stream's mark with the slice list.
    const testing::TestResponse slices = w->Fetch(bhttp::verb::get, "/worker/slices?marks=1");
    REQUIRE(slices.result() == bhttp::status::ok);
    CHECK(slices.body().find(R"("marks":{"0:1@0a0b0c0d":10,"0:1@ffffffff":2,"1:3@0a0b0c0d":4})") !=
          std::string::npos);
    CHECK(slices.body().find(R"("sealed_before":)") != std::string::npos);
    w->Restart();
  }
  CHECK(w->Fetch(bhttp::verb::get, "/worker?slice=1&marks=XYZ").result() ==
        bhttp::status::bad_request);
  CHECK(w->Fetch(bhttp::verb::get, "/worker?slice=1&marks=").result() ==
        bhttp::status::bad_request);
}

}  // namespace
}  // namespace rt
