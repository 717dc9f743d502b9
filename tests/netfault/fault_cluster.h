#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/cluster_config.h"
#include "tests/support/process.h"

namespace rt::netfault {

// The cluster a scenario runs: `kWorkers` serve-worker processes and `kApiNodes`
// serve-api processes with spools, real rtctl processes on 127.0.0.1 of the private
// namespace. Fixed ports are safe there (nothing else can bind in a namespace of our
// own) and let the nft rules name them before anything starts. API node 1 runs as
// uid `kApiOneUid` (setpriv), so that a rule can tell its connections from API node
// 0's (NftFaults::Partition). The workers are routed in replica sets of `replicas`
// members, in id order (docs/design.md §14): four sets of one, or [0+1, 2+3].
// Processes die with the namespace; Stop() ends them early.
class FaultCluster {
 public:
  static constexpr int kWorkers = 4;
  static constexpr int kApiNodes = 2;
  static constexpr uid_t kApiOneUid = 65534;  // nobody
  static constexpr int64_t kSliceLength = 3600;

  // `dir`: an empty directory for config, data and spools (made by the caller, who
  // removes it); `secret`: the cluster secret; `replicas`: 1, 2 or 4 members a set.
  FaultCluster(std::string dir, std::string secret, int replicas);

  // Writes the config and starts every node; false (with a line on stderr) if one
  // did not come up.
  bool Start();
  void Stop();

  static uint16_t ApiPort(int i) { return static_cast<uint16_t>(18000 + i); }
  static uint16_t WorkerPort(int i) { return static_cast<uint16_t>(19000 + i); }
  // The routing list of every slice: worker ids "0".."3" in sets of `replicas`.
  const std::vector<ReplicaSet>& sets() const { return sets_; }
  // Milliseconds since the epoch in the middle of the config's only busy slice.
  int64_t timestamp_ms() const { return timestamp_ms_; }
  int64_t slice() const { return 0; }
  const std::string& secret() const { return secret_; }

 private:
  std::string ConfigText() const;

  std::string dir_;
  std::string secret_;
  std::vector<ReplicaSet> sets_;
  std::string first_slice_;
  int64_t timestamp_ms_ = 0;
  std::vector<std::unique_ptr<testing::Process>> workers_;
  std::vector<std::unique_ptr<testing::Process>> apis_;
};

}  // namespace rt::netfault
