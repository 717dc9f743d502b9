#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/slice_clock.h"
#include "tests/support/temp_dir.h"

namespace rt::testing {

// The outcome of one rtctl run: exit code (-1 if it did not exit in time; it is then
// killed), stdout and stderr.
struct RtctlRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `rtctl args...` to completion, waiting at most `timeout`.
RtctlRun RunRtctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(120));

// The worker key of cluster secret `secret` as `rtctl worker-key` prints it (64 hex
// chars, no newline); empty if rtctl failed.
std::string WorkerKeyOf(const std::string& secret);

// A real cluster of rtctl processes on 127.0.0.1 for integration tests: `workers`
// serve-worker processes (port 0, data under a temp dir) and one serve-api process
// (port 0) over a config file written with the workers' real ports. Unless a test
// sets `first_slice`, the config's first-slice puts now in the middle of slice
// `past_slices` (see SliceClock), so no test meets a slice boundary. The config's other keys come
// from `extra_json` (e.g.
// `"max-future-s": 2,`), inserted into the object as is. The API node gets `secret`
// (RT_SECRET), the workers its worker key (RT_WORKER_KEY, from `rtctl worker-key`).
// Processes are killed when the cluster is destroyed.
class LocalCluster {
 public:
  struct Options {
    int workers = 2;
    int64_t slice_length_s = 3600;
    int64_t past_slices = 24;
    std::string first_slice;  // "YYYY-MM-DDTHH:MM:SS"; empty: from past_slices
    std::string extra_json;   // more top-level keys, each followed by a comma
    // The routing list as JSON; empty: every worker from slice 0.
    std::string routing_json;
    std::string secret = "integration-test-secret";
    std::vector<std::string> api_args;  // more serve-api flags
  };

  explicit LocalCluster(Options options);
  ~LocalCluster();

  // Starts the workers and the API node; false (with INFO) if one failed to start.
  bool Start();

  uint16_t api_port() const { return api_port_; }
  // The config's slices: now_slice, the middle of a slice, a slice's start.
  const SliceClock& clock() const { return clock_; }
  // "http://127.0.0.1:PORT", the form `rtctl --api` takes.
  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port_); }
  // The worker's URL as the config names it: "http://127.0.0.1:PORT/worker".
  std::string worker_url(int i) const {
    return "http://127.0.0.1:" + std::to_string(worker_ports_.at(i)) + "/worker";
  }
  uint16_t worker_port(int i) const { return worker_ports_.at(i); }
  const std::string& config_path() const { return config_path_; }
  std::string worker_data_dir(int i) const;
  Process& api() { return *api_; }
  Process& worker(int i) { return *workers_.at(i); }

  // Rewrites the config file with `routing_json` and the current workers (those
  // added by AddWorker too).
  void WriteConfig(const std::string& routing_json);

  enum class ReloadOutcome { kApplied, kRefused, kNoOutcome };
  // WriteConfig, then SIGHUP to the API node; waits until its /metrics counter
  // rt_api_config_reloads_total{outcome=...} shows the outcome, or `timeout`
  // (kNoOutcome: neither counter moved in time, e.g. the config was unchanged).
  // REQUIRES: the config file held an applied config (else the node's periodic
  // reload may count a refusal of the old file meanwhile).
  ReloadOutcome WriteConfigAndReload(const std::string& routing_json,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGHUP to the API node only, for a test that wrote the config file itself; wait
  // for the outcome on /metrics (tests/support/metrics_scrape.h).
  void Reload();

  // Starts one more worker (id = current count); returns its index.
  int AddWorker();
  // kill -9 worker i; then StartWorker(i) brings it back on the same port and dir.
  void KillWorker(int i);
  bool RestartWorker(int i);
  // The worker key (hex) workers started from now on get; the secret's by default.
  void SetWorkerKey(std::string hex) { worker_key_ = std::move(hex); }
  const std::string& worker_key() const { return worker_key_; }

  // Stops the API node with SIGTERM and returns its exit code.
  std::optional<int> StopApi();
  // kill -9 of the API node; RestartApi starts it again with the same flags on the
  // same port (and so the same --spool-dir when api_args name one).
  void KillApi();
  bool RestartApi();

  // Starts one more API node, id "1", "2", ... (the config lists it; the first node
  // sees the change at its next reload), with `args` beyond --config/--node/--listen
  // (e.g. a --spool-dir of its own). Returns its index k (1, 2, ...), or -1.
  int AddApi(std::vector<std::string> args);
  uint16_t extra_api_port(int k) const { return extra_api_ports_.at(k - 1); }
  Process& extra_api(int k) { return *extra_apis_.at(k - 1); }
  void KillExtraApi(int k);
  bool RestartExtraApi(int k);

 private:
  bool StartWorker(int i, uint16_t port);
  bool StartApi(uint16_t port);
  std::string ConfigText(const std::string& routing_json) const;

  Options options_;
  SliceClock clock_;
  TempDir dir_;
  std::string config_path_;
  std::string routing_json_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<uint16_t> worker_ports_;
  std::unique_ptr<Process> api_;
  uint16_t api_port_ = 0;
  std::vector<std::unique_ptr<Process>> extra_apis_;
  std::vector<uint16_t> extra_api_ports_;
  std::vector<std::vector<std::string>> extra_api_args_;
  bool StartExtraApi(int k, uint16_t port);
  std::string worker_key_;
};

}  // namespace rt::testing
