#include "tests/support/local_cluster.h"

#include <csignal>
#include <fstream>

#include "tests/support/metrics_scrape.h"
#include "tests/support/wait_for.h"

namespace rt::testing {

RtctlRun RunRtctl(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  std::chrono::milliseconds timeout) {
  Process process(RtctlPath(), args, env);
  RtctlRun run;
  const std::optional<int> code = process.WaitExit(timeout);
  if (code) run.code = *code;
  run.out = process.Stdout();
  run.err = process.Stderr();
  return run;
}

std::string WorkerKeyOf(const std::string& secret) {
  const RtctlRun run = RunRtctl({"worker-key"}, {"RT_SECRET=" + secret});
  if (run.code != 0 || run.out.size() != 65) return "";
  return run.out.substr(0, 64);
}

LocalCluster::LocalCluster(Options options)
    : options_(std::move(options)),
      clock_(options_.first_slice.empty()
                 ? MidSliceClock(options_.slice_length_s, options_.past_slices)
                 : FixedSliceClock(options_.slice_length_s, options_.first_slice)),
      config_path_(dir_.Sub("cluster.json")) {
  routing_json_ = options_.routing_json;
  if (routing_json_.empty()) {
    routing_json_ = "[{\"slice\": 0, \"nodes\": [";
    for (int i = 0; i < options_.workers; ++i) {
      routing_json_ += (i ? ", \"" : "\"") + std::to_string(i) + "\"";
    }
    routing_json_ += "]}]";
  }
}

LocalCluster::~LocalCluster() = default;

std::string LocalCluster::worker_data_dir(int i) const {
  return dir_.Sub("worker-" + std::to_string(i));
}

std::string LocalCluster::ConfigText(const std::string& routing_json) const {
  std::string text = "{\n  \"api-nodes\": {\"0\": \"http://127.0.0.1:" +
                     std::to_string(api_port_ == 0 ? 1 : api_port_) + "/analytics\"";
  for (size_t k = 0; k < extra_api_ports_.size(); ++k) {
    // A node not started yet gets a placeholder port; every node listens where
    // --listen says.
    const uint16_t port = extra_api_ports_[k] == 0 ? static_cast<uint16_t>(1) : extra_api_ports_[k];
    text += ", \"" + std::to_string(k + 1) + "\": \"http://127.0.0.1:" + std::to_string(port) +
            "/analytics\"";
  }
  text += "},\n";
  text += "  \"worker-nodes\": {";
  for (size_t i = 0; i < worker_ports_.size(); ++i) {
    // Workers not started yet get a placeholder port; the API node only connects
    // to workers that routing uses.
    const uint16_t port = worker_ports_[i] == 0 ? static_cast<uint16_t>(2 + i) : worker_ports_[i];
    text += (i ? ", " : "") + std::string("\"") + std::to_string(i) +
            "\": \"http://127.0.0.1:" + std::to_string(port) + "/worker\"";
  }
  text += "},\n";
  text += "  \"length-of-time-slice\": " + std::to_string(options_.slice_length_s) + ",\n";
  text += "  \"first-slice\": \"" + clock_.first_slice + "\",\n";
  text += "  " + options_.extra_json + "\n";
  text += "  \"routing\": " + routing_json + "\n}\n";
  return text;
}

void LocalCluster::WriteConfig(const std::string& routing_json) {
  routing_json_ = routing_json;
  std::ofstream(config_path_ + ".tmp") << ConfigText(routing_json_);
  std::rename((config_path_ + ".tmp").c_str(), config_path_.c_str());
}

LocalCluster::ReloadOutcome LocalCluster::WriteConfigAndReload(const std::string& routing_json,
                                                               std::chrono::milliseconds timeout) {
  const std::string applied = "rt_api_config_reloads_total{outcome=\"applied\"}";
  const std::string refused = "rt_api_config_reloads_total{outcome=\"refused\"}";
  const std::optional<double> applied_before = FetchMetric(api_port_, applied);
  const std::optional<double> refused_before = FetchMetric(api_port_, refused);
  if (!applied_before || !refused_before) return ReloadOutcome::kNoOutcome;
  WriteConfig(routing_json);
  api_->Signal(SIGHUP);
  ReloadOutcome outcome = ReloadOutcome::kNoOutcome;
  WaitFor(
      [&] {
        if (FetchMetric(api_port_, applied).value_or(0) > *applied_before) {
          outcome = ReloadOutcome::kApplied;
        } else if (FetchMetric(api_port_, refused).value_or(0) > *refused_before) {
          outcome = ReloadOutcome::kRefused;
        }
        return outcome != ReloadOutcome::kNoOutcome;
      },
      timeout, std::chrono::milliseconds(20));
  return outcome;
}

void LocalCluster::Reload() { api_->Signal(SIGHUP); }

bool LocalCluster::StartWorker(int i, uint16_t port) {
  workers_.at(i) = StartRtctl(
      {"serve-worker", "--config", config_path_, "--node", std::to_string(i), "--data-dir",
       worker_data_dir(i), "--listen", "127.0.0.1:" + std::to_string(port), "--threads", "2"},
      {"RT_WORKER_KEY=" + worker_key_});
  const std::optional<uint16_t> ready = workers_[i]->WaitForReadyPort();
  if (!ready) return false;
  worker_ports_.at(i) = *ready;
  return true;
}

bool LocalCluster::Start() {
  if (worker_key_.empty()) worker_key_ = WorkerKeyOf(options_.secret);
  worker_ports_.assign(options_.workers, 0);
  workers_.resize(options_.workers);
  WriteConfig(routing_json_);
  for (int i = 0; i < options_.workers; ++i) {
    if (!StartWorker(i, 0)) return false;
  }
  WriteConfig(routing_json_);
  return StartApi(0);
}

bool LocalCluster::StartApi(uint16_t port) {
  std::vector<std::string> args = {"serve-api",
                                   "--config",
                                   config_path_,
                                   "--node",
                                   "0",
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--threads",
                                   "2"};
  args.insert(args.end(), options_.api_args.begin(), options_.api_args.end());
  api_ = StartRtctl(args, {"RT_SECRET=" + options_.secret});
  const std::optional<uint16_t> ready = api_->WaitForReadyPort();
  if (!ready) return false;
  api_port_ = *ready;
  return true;
}

int LocalCluster::AddApi(std::vector<std::string> args) {
  extra_apis_.emplace_back();
  extra_api_ports_.push_back(0);
  extra_api_args_.push_back(std::move(args));
  const int k = static_cast<int>(extra_apis_.size());
  WriteConfig(routing_json_);
  if (!StartExtraApi(k, 0)) return -1;
  WriteConfig(routing_json_);
  return k;
}

bool LocalCluster::StartExtraApi(int k, uint16_t port) {
  std::vector<std::string> args = {"serve-api",
                                   "--config",
                                   config_path_,
                                   "--node",
                                   std::to_string(k),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--threads",
                                   "2"};
  const std::vector<std::string>& extra = extra_api_args_.at(k - 1);
  args.insert(args.end(), extra.begin(), extra.end());
  extra_apis_.at(k - 1) = StartRtctl(args, {"RT_SECRET=" + options_.secret});
  const std::optional<uint16_t> ready = extra_apis_[k - 1]->WaitForReadyPort();
  if (!ready) return false;
  extra_api_ports_.at(k - 1) = *ready;
  return true;
}

void LocalCluster::KillExtraApi(int k) {
  extra_apis_.at(k - 1)->Kill();
  extra_apis_[k - 1]->WaitExit();
}

bool LocalCluster::RestartExtraApi(int k) { return StartExtraApi(k, extra_api_ports_.at(k - 1)); }

void LocalCluster::KillApi() {
  api_->Kill();
  api_->WaitExit();
}

bool LocalCluster::RestartApi() { return StartApi(api_port_); }

int LocalCluster::AddWorker() {
  const int i = static_cast<int>(workers_.size());
  workers_.emplace_back();
  worker_ports_.push_back(0);
  WriteConfig(routing_json_);
  if (!StartWorker(i, 0)) return -1;
  WriteConfig(routing_json_);
  return i;
}

void LocalCluster::KillWorker(int i) {
  workers_.at(i)->Kill();
  workers_[i]->WaitExit();
}

bool LocalCluster::RestartWorker(int i) { return StartWorker(i, worker_ports_.at(i)); }

std::optional<int> LocalCluster::StopApi() {
  api_->Terminate();
  return api_->WaitExit(std::chrono::seconds(30));
}

}  // namespace rt::testing
