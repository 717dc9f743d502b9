// Secrets and worker keys with real rtctl processes (docs/design.md §3): nodes refuse
// to start without them or with badly kept ones, keep them out of their environment,
// and an API node whose worker has another key answers 503 until the worker is
// fixed, then delivers every accepted event exactly once.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/model/slice_stats.h"
#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"
#include "tests/support/worker_signing.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;
using testing::RtctlRun;
using testing::RunRtctl;
using testing::StartRtctl;
using testing::WaitFor;
namespace bhttp = boost::beast::http;

constexpr char kOtherSecret[] = "another-cluster-secret-0123456789";

std::string WriteFile(const testing::TempDir& dir, const std::string& name,
                      const std::string& content, mode_t mode) {
  const std::string path = dir.Sub(name);
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
  return path;
}

std::string Config(const testing::TempDir& dir) {
  return WriteFile(dir, "cluster.json", R"({
  "api-nodes": { "0": "http://127.0.0.1:1/analytics" },
  "worker-nodes": { "0": "http://127.0.0.1:2/worker" },
  "length-of-time-slice": 3600,
  "first-slice": "2026-01-01T00:00:00",
  "routing": [ { "slice": 0, "nodes": ["0"] } ]
})",
                   0644);
}

bool OneLine(const std::string& text) {
  return !text.empty() && text.find('\n') == text.size() - 1;
}

std::vector<std::string> ServeWorker(const std::string& config, const std::string& data) {
  return {"serve-worker", "--config", config,     "--node",     "0",
          "--data-dir",   data,       "--listen", "127.0.0.1:0"};
}

std::vector<std::string> ServeApi(const std::string& config) {
  return {"serve-api", "--config", config, "--node", "0", "--listen", "127.0.0.1:0"};
}

TEST_CASE("rtctl worker-key prints 64 hex chars and a newline, the same for the same secret",
          "[integration][auth]") {
  testing::TempDir dir;
  const RtctlRun from_env = RunRtctl({"worker-key"}, {"RT_SECRET=" + std::string(kOtherSecret)});
  REQUIRE(from_env.code == 0);
  REQUIRE(from_env.out.size() == 65);
  CHECK(from_env.out.back() == '\n');
  CHECK(from_env.out.find_first_not_of("0123456789abcdef") == 64);
  const std::string file = WriteFile(dir, "secret", std::string(kOtherSecret) + "\n", 0600);
  CHECK(RunRtctl({"worker-key", "--secret-file", file}).out == from_env.out);
  CHECK(RunRtctl({"worker-key"}, {"RT_SECRET=" + std::string(testing::kTestSecret)}).out ==
        testing::TestWorkerKeyHex() + "\n");
  CHECK(RunRtctl({"worker-key"}).code == 2);
}

TEST_CASE("serve-worker refuses to start without a key or on data of another key",
          "[integration][auth]") {
  testing::TempDir dir;
  const std::string config = Config(dir);
  const RtctlRun no_key = RunRtctl(ServeWorker(config, dir.Sub("data")));
  CHECK(no_key.code == 1);
  CHECK(OneLine(no_key.err));
  CHECK_THAT(no_key.err, Catch::Contains("--worker-key-file") && Catch::Contains("RT_WORKER_KEY"));

  auto first = StartRtctl(ServeWorker(config, dir.Sub("data")),
                          {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  REQUIRE(first->WaitForReadyPort());
  first->Terminate();
  REQUIRE(first->WaitExit() == 0);

  const std::string other = testing::WorkerKeyOf(kOtherSecret);
  const RtctlRun wrong = RunRtctl(ServeWorker(config, dir.Sub("data")), {"RT_WORKER_KEY=" + other});
  CHECK(wrong.code == 1);
  CHECK(OneLine(wrong.err));
  CHECK_THAT(wrong.err, Catch::Contains(testing::TestWorkerKey().KeyId()) &&
                            Catch::Contains(WorkerKey::FromHex(other)->KeyId()) &&
                            Catch::Contains("another cluster secret"));

  const std::string loose = WriteFile(dir, "worker-key", testing::TestWorkerKeyHex(), 0640);
  const RtctlRun readable = RunRtctl([&] {
    auto args = ServeWorker(config, dir.Sub("data"));
    args.insert(args.end(), {"--worker-key-file", loose});
    return args;
  }());
  CHECK(readable.code == 1);
  CHECK(readable.err == "rtctl serve-worker: worker key file " + loose +
                            " is readable by group or others (mode 0640); chmod 600 " + loose +
                            "\n");
}

TEST_CASE("serve-api refuses a missing, loosely kept or short secret, one line each",
          "[integration][auth]") {
  testing::TempDir dir;
  const std::string config = Config(dir);
  const RtctlRun none = RunRtctl(ServeApi(config));
  CHECK(none.code == 1);
  CHECK(OneLine(none.err));
  CHECK_THAT(none.err, Catch::Contains("--secret-file") && Catch::Contains("RT_SECRET") &&
                           Catch::Contains("rtctl worker-key"));

  auto with_file = [&](const std::string& file) {
    auto args = ServeApi(config);
    args.insert(args.end(), {"--secret-file", file});
    return RunRtctl(args);
  };
  const std::string loose = WriteFile(dir, "loose", std::string(kOtherSecret), 0644);
  const RtctlRun readable = with_file(loose);
  CHECK(readable.code == 1);
  CHECK(readable.err == "rtctl serve-api: secret file " + loose +
                            " is readable by group or others (mode 0644); chmod 600 " + loose +
                            "\n");
  const RtctlRun missing = with_file(dir.Sub("nosuch"));
  CHECK(missing.code == 1);
  CHECK(missing.err == "rtctl serve-api: cannot read secret file " + dir.Sub("nosuch") +
                           ": No such file or directory\n");
  const RtctlRun short_file = with_file(WriteFile(dir, "short", "0123456789\n", 0600));
  CHECK(short_file.code == 1);
  CHECK(OneLine(short_file.err));
  CHECK_THAT(short_file.err, Catch::Contains("is 10 bytes; at least 16"));
  const RtctlRun short_env = RunRtctl(ServeApi(config), {"RT_SECRET=0123456789"});
  CHECK(short_env.code == 1);
  CHECK_THAT(short_env.err, Catch::Contains("RT_SECRET is 10 bytes"));
}

// The environment of a running process, as /proc shows it.
std::string EnvironOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("nodes remove RT_SECRET and RT_WORKER_KEY from their environment",
          "[integration][auth]") {
  testing::TempDir dir;
  const std::string config = Config(dir);
  auto worker = StartRtctl(ServeWorker(config, dir.Sub("data")),
                           {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  auto api = StartRtctl(ServeApi(config), {"RT_SECRET=" + std::string(testing::kTestSecret)});
  REQUIRE(worker->WaitForReadyPort());
  REQUIRE(api->WaitForReadyPort());
  // /proc/PID/environ shows the process's initial environment block: unsetenv alone
  // would leave the value there, so the nodes also wipe it.
  const std::string worker_env = EnvironOf(worker->pid());
  const std::string api_env = EnvironOf(api->pid());
  CHECK(worker_env.find(testing::TestWorkerKeyHex()) == std::string::npos);
  CHECK(api_env.find(testing::kTestSecret) == std::string::npos);
  worker->Terminate();
  api->Terminate();
  CHECK(worker->WaitExit() == 0);
  api->WaitExit();
}

TEST_CASE("rtctl worker-get reads a worker with a signed request, and fails on a wrong key",
          "[integration][auth]") {
  testing::TempDir dir;
  const std::string config = Config(dir);
  auto worker = StartRtctl(ServeWorker(config, dir.Sub("data")),
                           {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  const std::optional<uint16_t> port = worker->WaitForReadyPort();
  REQUIRE(port);
  const std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/worker";
  const std::string key = WriteFile(dir, "worker-key", testing::TestWorkerKeyHex() + "\n", 0600);
  const RtctlRun slices = RunRtctl({"worker-get", "--worker", url, "--worker-key-file", key});
  CHECK(slices.code == 0);
  CHECK(slices.out == "{\"slices\":[]}\n");
  const RtctlRun one = RunRtctl({"worker-get", "--worker", url, "--slice", "3"},
                                {"RT_WORKER_KEY=" + testing::TestWorkerKeyHex()});
  CHECK(one.code == 0);
  CHECK(one.out == FormatSliceStats(SliceStats{}));
  const RtctlRun wrong = RunRtctl({"worker-get", "--worker", url},
                                  {"RT_WORKER_KEY=" + testing::WorkerKeyOf(kOtherSecret)});
  CHECK(wrong.code == 1);
  CHECK(wrong.err == "rtctl worker-get: worker answered 401 bad signature\n");
  CHECK(RunRtctl({"worker-get", "--worker", url}).code == 2);
  worker->Terminate();
  CHECK(worker->WaitExit() == 0);
}

// Posts one event; the HTTP status and body (0: no answer).
std::pair<int, std::string> Post(uint16_t port, int64_t ts, const std::string& user) {
  const auto response =
      testing::HttpFetch(port, bhttp::verb::post,
                         "/analytics?timestamp=" + std::to_string(ts) + "&user=" + user + "&click");
  if (!response) return {0, ""};
  return {static_cast<int>(response->result_int()), response->body()};
}

TEST_CASE(
    "a worker with another worker key gets nothing until it has the right one, then "
    "every accepted event exactly once",
    "[integration][auth]") {
  LocalCluster::Options options;
  options.workers = 1;
  LocalCluster cluster(options);
  cluster.SetWorkerKey(testing::WorkerKeyOf(kOtherSecret));
  REQUIRE(cluster.Start());
  const int64_t ts = testing::NowMs();

  // Events accepted before the first refusal stay queued; once the worker's 401 is
  // known, POSTs for it are 503 "cannot deliver". One POST per poll until then.
  int accepted = 0;
  int other = 0;
  std::string refusal;
  WaitFor(
      [&] {
        const auto [status, body] = Post(cluster.api_port(), ts, "user" + std::to_string(accepted));
        if (status == 202) ++accepted;
        if (status == 503) refusal = body;
        if (status != 202 && status != 503) ++other;
        return !refusal.empty();
      },
      20s, 5ms);
  INFO(cluster.api().Stderr());
  CHECK(other == 0);
  REQUIRE_FALSE(refusal.empty());
  CHECK_THAT(refusal, Catch::StartsWith("cannot deliver to worker 0"));
  CHECK_THAT(refusal, Catch::Contains("refuses our signature"));
  REQUIRE(accepted >= 1);

  // The operator gives the worker the right key (its data dir, written under the
  // other key, holds nothing of this cluster: it is replaced).
  cluster.KillWorker(0);
  std::filesystem::remove_all(cluster.worker_data_dir(0));
  cluster.SetWorkerKey(testing::WorkerKeyOf(options.secret));
  REQUIRE(cluster.RestartWorker(0));
  // The queued events are resent, re-signed, within about a second; then POSTs are
  // accepted again.
  REQUIRE(WaitFor([&] { return Post(cluster.api_port(), ts, "late").first == 202; }, 20s, 100ms));
  ++accepted;  // "late", once: further attempts were refused before being accepted
  const auto exact = [&] {
    const auto response = testing::HttpFetch(cluster.api_port(), bhttp::verb::get,
                                             "/analytics?timestamp=" + std::to_string(ts), "",
                                             {{"Cache-Control", "no-cache"}});
    if (!response || response->result_int() != 200) return false;
    const Result<SliceStats> stats = ParseSliceStats(response->body());
    return stats.ok() && stats->clicks == static_cast<uint64_t>(accepted);
  };
  REQUIRE(WaitFor(exact, 20s, 50ms));
  const auto response = testing::HttpFetch(cluster.api_port(), bhttp::verb::get,
                                           "/analytics?timestamp=" + std::to_string(ts), "",
                                           {{"Cache-Control", "no-cache"}});
  REQUIRE(response);
  CHECK(*ParseSliceStats(response->body()) ==
        SliceStats{static_cast<uint64_t>(accepted), static_cast<uint64_t>(accepted), 0});
  CHECK(cluster.StopApi() == 0);
}

// The lines of `log` that contain `text`.
std::vector<std::string> LinesWith(const std::string& log, const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find(text) != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

TEST_CASE(
    "an API node logs a worker's refusal of its key once per episode, not per retry or read, "
    "and its end once",
    "[integration][auth][log]") {
  LocalCluster::Options options;
  options.workers = 1;
  LocalCluster cluster(options);
  cluster.SetWorkerKey(testing::WorkerKeyOf(kOtherSecret));
  REQUIRE(cluster.Start());
  const int64_t ts = testing::NowMs();
  REQUIRE(Post(cluster.api_port(), ts, "first").first == 202);

  // Several slow resends, each refused with 401, and reads refused meanwhile (the
  // read path gets the same 401 from the worker).
  const auto refusals = [&] {
    return testing::FetchMetric(cluster.api_port(),
                                "rt_api_forward_unauthorized_total{worker=\"0\"}")
        .value_or(0);
  };
  int reads = 0;
  REQUIRE(WaitFor(
      [&] {
        const auto read = testing::HttpFetch(cluster.api_port(), bhttp::verb::get,
                                             "/analytics?timestamp=" + std::to_string(ts), "",
                                             {{"Cache-Control", "no-cache"}});
        if (read && read->result_int() == 503) ++reads;
        return refusals() >= 4;
      },
      30s, 100ms));
  CHECK(reads >= 1);
  const std::string refused_log = cluster.api().Stderr();
  INFO(refused_log);
  const std::vector<std::string> lines = LinesWith(refused_log, "worker=0");
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::StartsWith("rt-api[0]: ERROR: worker=0 peer=127.0.0.1:"));
  CHECK_THAT(lines[0], Catch::Contains("answered 401"));
  CHECK_THAT(lines[0], Catch::Contains("rtctl worker-key"));

  // The worker gets the right key: one line says delivery is back.
  cluster.KillWorker(0);
  std::filesystem::remove_all(cluster.worker_data_dir(0));
  cluster.SetWorkerKey(testing::WorkerKeyOf(options.secret));
  REQUIRE(cluster.RestartWorker(0));
  REQUIRE(WaitFor(
      [&] {
        return testing::FetchMetric(cluster.api_port(),
                                    "rt_api_forwarded_events_total{worker=\"0\"}")
                   .value_or(0) >= 1;
      },
      20s, 50ms));
  CHECK(cluster.StopApi() == 0);
  // (A resend while the worker was down may add a "connection refused" line.)
  const std::string log = cluster.api().Stderr();
  INFO(log);
  CHECK(LinesWith(log, "answered 401").size() == 1);
  const std::vector<std::string> back = LinesWith(log, "batches delivered again");
  REQUIRE(back.size() == 1);
  CHECK_THAT(back[0], Catch::StartsWith("rt-api[0]: worker=0 peer=127.0.0.1:"));
}

}  // namespace
}  // namespace rt
