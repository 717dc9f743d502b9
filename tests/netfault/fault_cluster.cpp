#include "tests/netfault/fault_cluster.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "config/replica_set.h"
#include "tests/support/local_cluster.h"

namespace rt::netfault {
namespace {

std::string UtcText(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

}  // namespace

FaultCluster::FaultCluster(std::string dir, std::string secret, int replicas)
    : dir_(std::move(dir)), secret_(std::move(secret)) {
  for (int i = 0; i < kWorkers; ++i) {
    if (i % replicas == 0) sets_.emplace_back();
    sets_.back().push_back(std::to_string(i));
  }
  // Now is half a slice into slice 0, so no scenario (a minute at most) meets a
  // slice boundary: every event and read is of slice 0.
  const auto now = std::chrono::system_clock::now();
  const std::time_t now_s = std::chrono::system_clock::to_time_t(now);
  first_slice_ = UtcText(now_s - kSliceLength / 2);
  timestamp_ms_ = static_cast<int64_t>(now_s) * 1000;
}

std::string FaultCluster::ConfigText() const {
  std::string text = "{\n  \"api-nodes\": {";
  for (int i = 0; i < kApiNodes; ++i) {
    text += (i ? ", \"" : "\"") + std::to_string(i) +
            "\": \"http://127.0.0.1:" + std::to_string(ApiPort(i)) + "/analytics\"";
  }
  text += "},\n  \"worker-nodes\": {";
  for (int i = 0; i < kWorkers; ++i) {
    text += (i ? ", \"" : "\"") + std::to_string(i) +
            "\": \"http://127.0.0.1:" + std::to_string(WorkerPort(i)) + "/worker\"";
  }
  text += "},\n  \"length-of-time-slice\": " + std::to_string(kSliceLength) + ",\n";
  text += "  \"first-slice\": \"" + first_slice_ + "\",\n";
  text += "  \"routing\": [{\"slice\": 0, \"nodes\": " + SetsToJson<nlohmann::json>(sets_).dump() +
          "}]\n}\n";
  return text;
}

bool FaultCluster::Start() {
  namespace fs = std::filesystem;
  // API node 1 runs as another uid: it must reach the config and its own spool.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  const std::string config = dir_ + "/cluster.json";
  std::ofstream(config) << ConfigText();
  const std::string worker_key = testing::WorkerKeyOf(secret_);
  if (worker_key.empty()) {
    std::cerr << "netfault: rtctl worker-key failed\n";
    return false;
  }
  for (int i = 0; i < kWorkers; ++i) {
    workers_.push_back(
        testing::StartRtctl({"serve-worker", "--config", config, "--node", std::to_string(i),
                             "--data-dir", dir_ + "/worker-" + std::to_string(i), "--threads", "1"},
                            {"RT_WORKER_KEY=" + worker_key}));
  }
  for (int i = 0; i < kApiNodes; ++i) {
    const std::string spool = dir_ + "/spool-" + std::to_string(i);
    fs::create_directory(spool);
    std::vector<std::string> args = {"serve-api", "--config",        config,
                                     "--node",    std::to_string(i), "--threads",
                                     "1",         "--spool-dir",     spool};
    const std::vector<std::string> env = {"RT_SECRET=" + secret_};
    if (i == 1) {
      if (chown(spool.c_str(), kApiOneUid, kApiOneUid) != 0) {
        std::cerr << "netfault: chown " << spool << " failed\n";
        return false;
      }
      const std::string uid = std::to_string(kApiOneUid);
      args.insert(args.begin(),
                  {"--reuid=" + uid, "--regid=" + uid, "--clear-groups", testing::RtctlPath()});
      apis_.push_back(std::make_unique<testing::Process>("/usr/bin/setpriv", args, env));
    } else {
      apis_.push_back(testing::StartRtctl(args, env));
    }
  }
  for (auto* group : {&workers_, &apis_}) {
    for (auto& process : *group) {
      if (!process->WaitForReadyPort()) {
        std::cerr << "netfault: a node did not start: " << process->Stderr() << "\n";
        return false;
      }
    }
  }
  return true;
}

void FaultCluster::Stop() {
  for (auto& p : apis_) p->Kill();
  for (auto& p : workers_) p->Kill();
  apis_.clear();
  workers_.clear();
}

}  // namespace rt::netfault
