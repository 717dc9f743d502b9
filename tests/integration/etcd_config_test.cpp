// The cluster config kept in etcd (docs/design.md §5 "Config and the safe-change
// rule"), end to end with a real etcd (tests/support/etcd_server.h) and real rtctl
// processes: config put refuses unsafe changes and lost races without writing; two
// API nodes and two workers run on the key, see a grown config as soon as it is
// put, and ride out an etcd outage on the config they run.
//
// Timeline: hour slices, now in the middle of slice 24 (SliceClock). The start
// config routes from slice 24 on only, so the late slices 20..23 have no workers
// and may gain any (no data can exist for them); the grown config adds worker 2 and
// routes slices 20..23 over all three workers. Nothing waits for the wall clock.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/source/etcd_client.h"
#include "tests/support/etcd_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/process.h"
#include "tests/support/slice_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::EtcdServer;
using testing::FetchMetric;
using testing::Process;
using testing::RtctlRun;
using testing::RunRtctl;
using testing::SliceClock;
using testing::TempDir;
using testing::WaitFor;

constexpr const char* kSecret = "integration-test-secret";
constexpr const char* kKey = "rt/cluster";

#define RT_REQUIRE_ETCD()                                                   \
  if (!EtcdServer::Available()) {                                           \
    WARN("SKIPPED: /usr/bin/etcd is absent (apt-get install etcd-server)"); \
    return;                                                                 \
  }

uint16_t FreePort() {
  boost::asio::io_context context;
  boost::asio::ip::tcp::acceptor acceptor(
      context, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string Url(uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A config for `api_ports` and `worker_ports` with `routing` (JSON).
std::string ConfigText(const SliceClock& clock, const std::vector<uint16_t>& api_ports,
                       const std::vector<uint16_t>& worker_ports, const std::string& routing) {
  nlohmann::json config = {{"length-of-time-slice", 3600},
                           {"first-slice", clock.first_slice},
                           {"reload-interval-s", 30},
                           {"routing", nlohmann::json::parse(routing)}};
  for (size_t i = 0; i < api_ports.size(); ++i) {
    config["api-nodes"][std::to_string(i)] = Url(api_ports[i], "/analytics");
  }
  for (size_t i = 0; i < worker_ports.size(); ++i) {
    config["worker-nodes"][std::to_string(i)] = Url(worker_ports[i], "/worker");
  }
  return config.dump(2) + "\n";
}

const char* kStartRouting = R"([{"slice": 24, "nodes": ["0", "1"]}])";
const char* kGrownRouting =
    R"([{"slice": 20, "nodes": ["0", "1", "2"]}, {"slice": 24, "nodes": ["0", "1"]}])";
// Slice 24 (holding now) moves to other workers: never safe.
const char* kUnsafeRouting = R"([{"slice": 24, "nodes": ["1", "0"]}])";

RtctlRun Rtctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  RtctlRun run = RunRtctl(args, env, 60s);
  INFO("rtctl " << args.at(0) << " did not exit in time: " << run.err);
  REQUIRE(run.code >= 0);
  return run;
}

// The value stored under kKey now.
std::string StoredValue(const EtcdServer& etcd) {
  const Result<EtcdValue> value = EtcdClient({etcd.Endpoint()}).Get(kKey);
  REQUIRE(value.ok());
  return value->value;
}

int64_t StoredRevision(const EtcdServer& etcd) {
  const Result<EtcdValue> value = EtcdClient({etcd.Endpoint()}).Get(kKey);
  REQUIRE(value.ok());
  return value->mod_revision;
}

TEST_CASE("config put refuses an unsafe change and leaves the value in etcd unchanged",
          "[integration][etcd][config]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  TempDir dir;
  const SliceClock clock = testing::MidSliceClock(3600, 24);
  const std::string location = etcd.Location(kKey);
  WriteFile(dir.Sub("start.json"), ConfigText(clock, {8080}, {9000, 9001}, kStartRouting));
  WriteFile(dir.Sub("unsafe.json"), ConfigText(clock, {8080}, {9000, 9001}, kUnsafeRouting));

  const RtctlRun first = Rtctl({"config", "put", location, dir.Sub("start.json"), "--offline"});
  INFO(first.err);
  REQUIRE(first.code == 0);
  const int64_t revision = StoredRevision(etcd);

  const RtctlRun unsafe = Rtctl({"config", "put", location, dir.Sub("unsafe.json"), "--offline"});
  INFO(unsafe.err);
  CHECK(unsafe.code == 1);
  CHECK(unsafe.err.find("unsafe change") != std::string::npos);
  CHECK(unsafe.err.find("slice 24") != std::string::npos);
  CHECK(unsafe.err.find("nothing written") != std::string::npos);
  CHECK(StoredRevision(etcd) == revision);

  const RtctlRun get = Rtctl({"config", "get", location});
  CHECK(get.code == 0);
  CHECK(get.out == ConfigText(clock, {8080}, {9000, 9001}, kStartRouting));
  CHECK(get.err.find("revision " + std::to_string(revision)) != std::string::npos);

  // validate-config reads etcd locations too, and says the same.
  const RtctlRun validate =
      Rtctl({"validate-config", dir.Sub("unsafe.json"), "--against", location, "--offline"});
  CHECK(validate.code == 1);
  CHECK(validate.err.find("unsafe change") != std::string::npos);
}

TEST_CASE("two config puts racing from the same read: exactly one wins",
          "[integration][etcd][config]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  TempDir dir;
  const SliceClock clock = testing::MidSliceClock(3600, 24);
  const std::string location = etcd.Location(kKey);
  WriteFile(dir.Sub("start.json"), ConfigText(clock, {8080}, {9000, 9001}, kStartRouting));
  // Two safe changes that differ: another worker for the empty late slices each.
  WriteFile(dir.Sub("a.json"), ConfigText(clock, {8080}, {9000, 9001, 9002}, kGrownRouting));
  WriteFile(dir.Sub("b.json"),
            ConfigText(clock, {8081}, {9000, 9001}, R"([{"slice": 22, "nodes": ["1"]},
                                                         {"slice": 24, "nodes": ["0", "1"]}])"));
  REQUIRE(Rtctl({"config", "put", location, dir.Sub("start.json"), "--offline"}).code == 0);
  const std::string read = std::to_string(StoredRevision(etcd));

  // Both operators read revision `read` and put at the same time.
  auto a = testing::StartRtctl(
      {"config", "put", location, dir.Sub("a.json"), "--offline", "--expect-revision", read});
  auto b = testing::StartRtctl(
      {"config", "put", location, dir.Sub("b.json"), "--offline", "--expect-revision", read});
  const std::optional<int> a_code = a->WaitExit(30s);
  const std::optional<int> b_code = b->WaitExit(30s);
  REQUIRE(a_code);
  REQUIRE(b_code);
  INFO("a: " << a->Stderr() << "\nb: " << b->Stderr());
  REQUIRE(*a_code + *b_code == 1);  // one 0, one 1
  Process& loser = *a_code == 1 ? *a : *b;
  CHECK(loser.Stderr().find("changed since read at revision " + read + "; run it again") !=
        std::string::npos);
  const std::string winner_file = *a_code == 0 ? "a.json" : "b.json";
  std::ifstream in(dir.Sub(winner_file));
  const std::string winner_text((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  CHECK(StoredValue(etcd) == winner_text);

  // history: the start config and the winner, nothing of the loser.
  const RtctlRun history = Rtctl({"config", "history", location});
  CHECK(history.code == 0);
  CHECK(history.out.find("revision " + read + "  created") != std::string::npos);
  CHECK(std::count(history.out.begin(), history.out.end(), '\n') == 2);
}

// Two API nodes and workers 0 and 1 on the etcd key; worker 2's port is reserved
// for the grown config.
class EtcdCluster {
 public:
  explicit EtcdCluster(EtcdServer& etcd)
      : etcd_(etcd),
        clock_(testing::MidSliceClock(3600, 24)),
        api_ports_{FreePort(), FreePort()},
        worker_ports_{FreePort(), FreePort(), FreePort()},
        worker_key_(testing::WorkerKeyOf(kSecret)) {}

  const SliceClock& clock() const { return clock_; }
  std::string location() const { return etcd_.Location(kKey); }
  uint16_t api_port(int i) const { return api_ports_.at(i); }
  uint16_t worker_port(int i) const { return worker_ports_.at(i); }
  std::vector<std::string> WorkerEnv() const { return {"RT_WORKER_KEY=" + worker_key_}; }

  std::string Config(bool grown) const {
    return Config(grown ? 3 : 2, grown ? kGrownRouting : kStartRouting);
  }
  // The config with the first `workers` workers and `routing`.
  std::string Config(int workers, const std::string& routing) const {
    return ConfigText(clock_, api_ports_,
                      std::vector<uint16_t>(worker_ports_.begin(), worker_ports_.begin() + workers),
                      routing);
  }

  // Puts `text` through `rtctl config put` (asking the running workers).
  RtctlRun Put(const std::string& text) {
    const std::string path = dir_.Sub("put-" + std::to_string(++puts_) + ".json");
    WriteFile(path, text);
    return Rtctl({"config", "put", location(), path}, WorkerEnv());
  }

  bool StartWorker(int i) {
    workers_.push_back(
        testing::StartRtctl({"serve-worker", "--config", location(), "--node", std::to_string(i),
                             "--data-dir", dir_.Sub("w" + std::to_string(i))},
                            WorkerEnv()));
    const bool ready = workers_.back()->WaitForReadyPort().has_value();
    if (!ready) UNSCOPED_INFO("worker " << i << ": " << workers_.back()->Stderr());
    return ready;
  }

  bool Start() {
    if (Put(Config(false)).code != 0) return false;
    if (!StartWorker(0) || !StartWorker(1)) return false;
    for (int i = 0; i < 2; ++i) {
      apis_.push_back(
          testing::StartRtctl({"serve-api", "--config", location(), "--node", std::to_string(i)},
                              {std::string("RT_SECRET=") + kSecret}));
      if (!apis_.back()->WaitForReadyPort()) {
        UNSCOPED_INFO("api " << i << ": " << apis_.back()->Stderr());
        return false;
      }
    }
    return true;
  }

  // Every node that runs (api 0, 1, workers) reports `series` == `value` on /metrics.
  bool AllNodesReport(const std::string& series, double value) const {
    std::vector<uint16_t> ports = api_ports_;
    for (size_t i = 0; i < workers_.size(); ++i) ports.push_back(worker_ports_[i]);
    for (const uint16_t port : ports) {
      if (FetchMetric(port, series) != value) return false;
    }
    return true;
  }

  std::string Logs() const {
    std::string logs;
    for (const auto& p : apis_) logs += p->Stderr();
    for (const auto& p : workers_) logs += p->Stderr();
    return logs;
  }

 private:
  EtcdServer& etcd_;
  TempDir dir_;
  SliceClock clock_;
  std::vector<uint16_t> api_ports_;
  std::vector<uint16_t> worker_ports_;
  std::string worker_key_;
  int puts_ = 0;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<std::unique_ptr<Process>> apis_;
};

// POSTs one click of `user` at `timestamp` to API node `port`; true on 202.
bool PostClick(uint16_t port, int64_t timestamp, const std::string& user) {
  const std::optional<testing::TestResponse> response = testing::HttpFetch(
      port, boost::beast::http::verb::post,
      "/analytics?timestamp=" + std::to_string(timestamp) + "&user=" + user + "&click");
  return response && response->result_int() == 202;
}

TEST_CASE("nodes on an etcd config all apply a grown config put while they run",
          "[integration][etcd][config]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  EtcdCluster cluster(etcd);
  REQUIRE(cluster.Start());
  const double start_revision = static_cast<double>(StoredRevision(etcd));
  CHECK(cluster.AllNodesReport("rt_config_revision", start_revision));
  CHECK(cluster.AllNodesReport("rt_config_source_up", 1));
  REQUIRE(PostClick(cluster.api_port(0), cluster.clock().Middle(24), "before"));

  const RtctlRun put = cluster.Put(cluster.Config(/*grown=*/true));
  INFO(put.err << cluster.Logs());
  REQUIRE(put.code == 0);
  const double grown_revision = static_cast<double>(StoredRevision(etcd));
  REQUIRE(grown_revision > start_revision);
  REQUIRE(cluster.StartWorker(2));
  REQUIRE(WaitFor([&] { return cluster.AllNodesReport("rt_config_revision", grown_revision); }, 15s,
                  50ms));

  // The late slices are spread over three workers now: enough users reach worker 2.
  int accepted = 0;
  for (int i = 0; i < 60; ++i) {
    accepted +=
        PostClick(cluster.api_port(i % 2), cluster.clock().Middle(21), "user" + std::to_string(i))
            ? 1
            : 0;
  }
  CHECK(accepted == 60);
  CHECK(WaitFor(
      [&] { return FetchMetric(cluster.worker_port(2), "rt_worker_events_applied_total") > 0; },
      15s, 50ms));

  // status: one row per node (after the header), every one on the newest revision.
  const RtctlRun status = Rtctl({"status", "--config", cluster.location()});
  INFO(status.out << status.err);
  CHECK(status.code == 0);
  CHECK(std::count(status.out.begin(), status.out.end(), '\n') == 1 + 2 + 3);
  const std::string grown_rev = "rev " + std::to_string(static_cast<int64_t>(grown_revision));
  size_t rows_on_grown = 0;
  for (size_t at = status.out.find(grown_rev); at != std::string::npos;
       at = status.out.find(grown_rev, at + 1)) {
    ++rows_on_grown;
  }
  CHECK(rows_on_grown == 5);
  CHECK(status.out.find("not the newest") == std::string::npos);

  // A value written past `config put` (as etcdctl could) that moves slice 24: the API
  // nodes refuse it and keep running the grown config; the workers (which only
  // check the slice geometry) take it. status marks the API nodes and exits 1.
  const Result<int64_t> unsafe =
      EtcdClient({etcd.Endpoint()})
          .CompareAndPut(kKey, cluster.Config(3, R"([{"slice": 20, "nodes": ["0", "1", "2"]},
                                                                          {"slice": 24, "nodes": ["1", "0"]}])"),
                         static_cast<int64_t>(grown_revision));
  REQUIRE(unsafe.ok());
  nlohmann::json nodes;
  CHECK(WaitFor(
      [&] {
        const RtctlRun run = RunRtctl({"status", "--config", cluster.location(), "--json"});
        if (run.code != 1) return false;
        nodes = nlohmann::json::parse(run.out)["nodes"];
        for (const nlohmann::json& node : nodes) {
          const bool api = node["kind"] == "api";
          if (node["stale"] != api || node["state"] != (api ? "UNHEALTHY" : "ok")) return false;
        }
        return true;
      },
      15s, 200ms));
  INFO(nodes.dump(2));
  CHECK(FetchMetric(cluster.api_port(0), "rt_config_revision") == grown_revision);
}

TEST_CASE("nodes keep serving while etcd is down and pick up a change made meanwhile",
          "[integration][etcd][config]") {
  RT_REQUIRE_ETCD();
  EtcdServer etcd;
  REQUIRE(etcd.Start());
  EtcdCluster cluster(etcd);
  REQUIRE(cluster.Start());
  const int64_t start_revision = StoredRevision(etcd);

  etcd.Stop();
  REQUIRE(WaitFor([&] { return cluster.AllNodesReport("rt_config_source_up", 0); }, 15s, 50ms));
  CHECK(PostClick(cluster.api_port(0), cluster.clock().Middle(24), "during"));
  CHECK(PostClick(cluster.api_port(1), cluster.clock().Middle(24), "during2"));
  for (const uint16_t port : {cluster.api_port(0), cluster.worker_port(0)}) {
    const std::optional<testing::TestResponse> health =
        testing::HttpFetch(port, boost::beast::http::verb::get, "/healthz");
    REQUIRE(health);
    CHECK(health->result_int() == 200);
    CHECK(health->body().find("unreachable") != std::string::npos);
  }

  // The change is written as soon as etcd is back, before the nodes' backoff has
  // (most likely) reconnected them; either way they must end up on it.
  REQUIRE(etcd.Start());
  const Result<int64_t> changed =
      EtcdClient({etcd.Endpoint()})
          .CompareAndPut(kKey, cluster.Config(false) + "// again\n", start_revision);
  REQUIRE(changed.ok());
  INFO(cluster.Logs());
  CHECK(WaitFor(
      [&] {
        return cluster.AllNodesReport("rt_config_revision", static_cast<double>(*changed)) &&
               cluster.AllNodesReport("rt_config_source_up", 1);
      },
      20s, 50ms));
}

}  // namespace
}  // namespace rt
