#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/cluster_config.h"
#include "server/model/slice_stats.h"

namespace rt {

class ApiNode;
class WorkerNode;

struct InProcessClusterOptions {
  int api_nodes = 2;
  int workers = 2;
  int64_t first_slice_s = 0;  // epoch seconds (UTC)
  int64_t slice_length_s = 3600;
  std::string data_root;  // an existing dir; worker i keeps its data in data_root/worker-i
  std::string secret = "rt-simulate";
  int node_threads = 1;  // I/O threads per node (every node shares the machine)
  // API node i spools its accepted events in data_root/api-i-spool (a FileSpool per
  // worker, docs/design.md §13), so that CrashApiNode can restart it on them.
  size_t spool_segment_bytes = 256 * 1024;  // small: a run holds few events per worker
  // Workers per replica set: workers are routed in sets of this many, in id order
  // (the start's and each AddWorkers' count must be a multiple of it).
  int replicas = 1;
};

// A whole rt cluster in this process: real WorkerNode and ApiNode objects serving
// real HTTP on 127.0.0.1 ephemeral ports, real Kyoto Cabinet files under
// data_root, every node reading time from the given clock.
//
// Workers start first on port 0; the config is then written with their real URLs.
// API nodes start on port 0 too, and every API node is then given the config with
// their real URLs through ApiNode::ReplaceConfig (the hot-reload path). Every
// config goes through ClusterConfigToJson and ParseClusterConfig, and the latest one
// is saved as data_root/cluster.json.
//
// Thread-safety: one controlling thread (the simulator); the nodes serve on their
// own threads. The clock must outlive the cluster.
class InProcessCluster {
 public:
  static Result<std::unique_ptr<InProcessCluster>> Start(InProcessClusterOptions options,
                                                         const Clock& clock);
  ~InProcessCluster();
  InProcessCluster(const InProcessCluster&) = delete;
  InProcessCluster& operator=(const InProcessCluster&) = delete;

  // The config every running API node has applied.
  const ClusterConfig& config() const { return config_; }
  // Ports of the running API nodes, in id order.
  std::vector<uint16_t> ApiPorts() const;
  // Ports of every worker (running or stopped), in id order.
  std::vector<uint16_t> WorkerPorts() const;
  // What running worker `id` holds, read from its store (KcStore::AllSlices, any
  // thread); NotFound when it is stopped or unknown.
  [[nodiscard]] Result<std::vector<std::pair<int64_t, SliceStats>>> WorkerSlices(
      const std::string& id) const;

  // Starts `count` new workers and routes the slices from `from_slice` on over every
  // worker, through ReplaceConfig on every API node. The error names the node that
  // refused it and why. Returns the new worker ids.
  [[nodiscard]] Result<std::vector<std::string>> AddWorkers(int count, int64_t from_slice);
  // Starts another API node with the current config and gives the others the config
  // that names it. Returns its id.
  [[nodiscard]] Result<std::string> AddApiNode();
  // Stops a worker (its store closed), and starts it again on the same data dir and
  // port.
  [[nodiscard]] Status StopWorker(const std::string& id);
  [[nodiscard]] Status RestartWorker(const std::string& id);
  // Disk loss of stopped worker `id`: its data dir is deleted and refilled with a
  // snapshot of running worker `from` (KcStore::TakeSnapshot, what GET
  // /worker/snapshot serves to rtctl reseed-worker), then it is started again.
  // Returns the bytes copied.
  [[nodiscard]] Result<uint64_t> WipeAndReseedWorker(const std::string& id,
                                                     const std::string& from);
  // Crashes API node `id` (ApiNode::Crash: no drain, no final sync, its memory
  // abandoned) and starts a fresh one with the same id on the same port and spool
  // dir, with the current config; it resends what the spool holds and the workers
  // lack. Returns how many events the restarted node found in its spool (accepted
  // by the crashed one, not acknowledged). REQUIRES: not the reader.
  [[nodiscard]] Result<uint64_t> CrashApiNode(const std::string& id);
  // Gives `next` to every API node through ReplaceConfig, in id order, and makes it
  // config() if all of them applied it. The error names the first node that refused
  // and why (nodes before it have applied `next`: use one API node when that matters).
  [[nodiscard]] Status ApplyConfig(const ClusterConfig& next) { return ApplyEverywhere(next); }
  // Offers `next` to every API node; one Status per node, in id order. Does not
  // change config() (callers use it for changes that must be refused).
  std::vector<Status> OfferConfig(const ClusterConfig& next);

  // Stops every API node, each flushing its forwarding queues first; returns how
  // many accepted events could not be delivered.
  uint64_t StopApiNodes(std::chrono::milliseconds drain_timeout);
  // Starts a fresh API node (after StopApiNodes) for reading the final numbers with
  // an empty cache; returns its port.
  [[nodiscard]] Result<uint16_t> StartReader();

 private:
  InProcessCluster(InProcessClusterOptions options, const Clock& clock);

  [[nodiscard]] Result<ClusterConfig> Reparse(const ClusterConfig& config) const;
  [[nodiscard]] Status StartWorker(const std::string& id, uint16_t port);
  // Appends `id` to the last of `sets`, or to a new set when that one is full.
  void AddToSets(std::vector<ReplicaSet>& sets, const std::string& id) const;
  // `port` 0: an ephemeral one, and `config` gets the node's entry unbound.
  [[nodiscard]] Result<std::string> StartApiNode(const std::string& id, uint16_t port = 0);
  [[nodiscard]] Status ApplyEverywhere(const ClusterConfig& next);
  void SaveConfig() const;

  InProcessClusterOptions options_;
  const Clock& clock_;
  ClusterConfig config_;
  std::map<std::string, std::unique_ptr<WorkerNode>> workers_;  // a stopped worker: nullptr
  std::map<std::string, uint16_t> worker_ports_;
  std::map<std::string, std::unique_ptr<ApiNode>> api_nodes_;
  int next_worker_ = 0;
  int next_api_ = 0;
};

}  // namespace rt
