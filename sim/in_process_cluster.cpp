#include "sim/in_process_cluster.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include "base/file_io.h"
#include "config/config_loader.h"
#include "config/routing.h"
#include "server/api/api_node.h"
#include "server/auth/worker_key.h"
#include "server/worker/worker_node.h"
#include "sim/config_text.h"

namespace rt {
namespace {

// API nodes are started on port 0, so their URL in the first config they get says
// so (validation warns, which is fine here); the real port replaces it at once.
constexpr const char* kUnboundApiUrl = "http://127.0.0.1:0/analytics";

std::string WorkerUrl(uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/worker";
}
std::string ApiUrl(uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/analytics";
}

}  // namespace

InProcessCluster::InProcessCluster(InProcessClusterOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

InProcessCluster::~InProcessCluster() {
  (void)StopApiNodes(std::chrono::milliseconds(0));
  for (auto& [id, worker] : workers_) {
    if (worker) worker->Stop();
  }
}

Result<std::unique_ptr<InProcessCluster>> InProcessCluster::Start(InProcessClusterOptions options,
                                                                  const Clock& clock) {
  std::unique_ptr<InProcessCluster> cluster(new InProcessCluster(std::move(options), clock));
  const InProcessClusterOptions& o = cluster->options_;

  ClusterConfig config;
  config.slice_length_s = o.slice_length_s;
  config.first_slice_s = o.first_slice_s;
  RoutingEntry all_workers{0, {}};
  for (int i = 0; i < o.workers; ++i) {
    const std::string id = std::to_string(cluster->next_worker_++);
    if (Status s = cluster->StartWorker(id, 0); !s.ok()) return s;
    config.worker_nodes[id] = WorkerUrl(cluster->worker_ports_[id]);
    cluster->AddToSets(all_workers.nodes, id);
  }
  config.routing.push_back(all_workers);
  for (int i = 0; i < o.api_nodes; ++i) {
    config.api_nodes[std::to_string(i)] = kUnboundApiUrl;
  }
  Result<ClusterConfig> parsed = cluster->Reparse(config);
  if (!parsed.ok()) return parsed.status().WithContext("the first cluster config");
  cluster->config_ = *parsed;

  for (int i = 0; i < o.api_nodes; ++i) {
    const Result<std::string> url = cluster->StartApiNode(std::to_string(cluster->next_api_++));
    if (!url.ok()) return url.status();
  }
  if (Status s = cluster->ApplyEverywhere(cluster->config_); !s.ok()) return s;
  return cluster;
}

std::vector<uint16_t> InProcessCluster::ApiPorts() const {
  std::vector<uint16_t> ports;
  for (const auto& [id, node] : api_nodes_) ports.push_back(node->LocalEndpoint().port());
  return ports;
}

std::vector<uint16_t> InProcessCluster::WorkerPorts() const {
  std::vector<uint16_t> ports;
  for (const auto& [id, port] : worker_ports_) ports.push_back(port);
  return ports;
}

Result<std::vector<std::pair<int64_t, SliceStats>>> InProcessCluster::WorkerSlices(
    const std::string& id) const {
  const auto it = workers_.find(id);
  if (it == workers_.end() || !it->second)
    return Status::NotFound("worker " + id + " is not running");
  return it->second->store().AllSlices();
}

Result<ClusterConfig> InProcessCluster::Reparse(const ClusterConfig& config) const {
  return ParseClusterConfig(ClusterConfigToJson(config), clock_.NowMillis());
}

void InProcessCluster::SaveConfig() const {
  std::ofstream(options_.data_root + "/cluster.json") << ClusterConfigToJson(config_);
}

Status InProcessCluster::StartWorker(const std::string& id, uint16_t port) {
  WorkerNodeOptions worker_options;
  worker_options.data_dir = options_.data_root + "/worker-" + id;
  worker_options.listen_host = "127.0.0.1";
  worker_options.listen_port = port;
  worker_options.server.threads = options_.node_threads;
  // The simulated workers judge slices by the fake clock, as serve-worker does by
  // the system clock.
  worker_options.slice_geometry = SliceGeometry{options_.first_slice_s, options_.slice_length_s,
                                                ClusterConfig::kDefaultMaxFutureS};
  worker_options.clock = &clock_;
  // The worker key of the API nodes' secret, as `rtctl worker-key` derives it.
  // Signatures are timed by the system clock on both sides, not the fake one, whose
  // 5-minute steps would age a batch in flight past the allowed skew.
  worker_options.worker_key = WorkerKey::Derive(options_.secret);
  Result<std::unique_ptr<WorkerNode>> worker = WorkerNode::Start(worker_options);
  if (!worker.ok()) return worker.status().WithContext("worker " + id);
  worker_ports_[id] = (*worker)->endpoint().port();
  workers_[id] = std::move(worker).value();
  return Status::Ok();
}

// Starts API node `id` with config_ plus its own entry (unbound when `port` is 0),
// and records its real URL in config_; the caller then applies config_ everywhere.
Result<std::string> InProcessCluster::StartApiNode(const std::string& id, uint16_t port) {
  ClusterConfig own = config_;
  if (port == 0) own.api_nodes[id] = kUnboundApiUrl;
  ApiNodeOptions node_options;
  node_options.node_id = id;
  node_options.secret = options_.secret;
  node_options.listen_host = "127.0.0.1";
  node_options.listen_port = port;
  node_options.threads = options_.node_threads;
  node_options.spool_dir = options_.data_root + "/api-" + id + "-spool";
  node_options.spool_segment_bytes = options_.spool_segment_bytes;
  Result<std::unique_ptr<ApiNode>> node = ApiNode::Create(own, node_options, clock_);
  if (!node.ok()) return node.status().WithContext("API node " + id);
  if (Status s = (*node)->Start(); !s.ok()) return s.WithContext("API node " + id);
  const std::string url = ApiUrl((*node)->LocalEndpoint().port());
  api_nodes_[id] = std::move(node).value();
  config_.api_nodes[id] = url;
  return url;
}

Status InProcessCluster::ApplyEverywhere(const ClusterConfig& next) {
  Result<ClusterConfig> parsed = Reparse(next);
  if (!parsed.ok()) return parsed.status().WithContext("new cluster config");
  for (auto& [id, node] : api_nodes_) {
    if (Status s = node->ReplaceConfig(*parsed); !s.ok()) {
      return s.WithContext("API node " + id + " refused the config");
    }
  }
  config_ = *parsed;
  SaveConfig();
  return Status::Ok();
}

Result<std::vector<std::string>> InProcessCluster::AddWorkers(int count, int64_t from_slice) {
  ClusterConfig next = config_;
  RoutingEntry entry{from_slice, {}};
  if (const auto* current = SetsForSlice(next, from_slice)) entry.nodes = *current;
  std::vector<std::string> added;
  for (int i = 0; i < count; ++i) {
    const std::string id = std::to_string(next_worker_++);
    if (Status s = StartWorker(id, 0); !s.ok()) return s;
    next.worker_nodes[id] = WorkerUrl(worker_ports_[id]);
    // New workers make new sets (the current slice's sets are copied whole above).
    if (i % options_.replicas == 0) entry.nodes.emplace_back();
    entry.nodes.back().push_back(id);
    added.push_back(id);
  }
  std::erase_if(next.routing,
                [from_slice](const RoutingEntry& e) { return e.slice >= from_slice; });
  next.routing.push_back(entry);
  if (Status s = ApplyEverywhere(next); !s.ok()) return s;
  return added;
}

Result<std::string> InProcessCluster::AddApiNode() {
  const std::string id = std::to_string(next_api_++);
  const Result<std::string> url = StartApiNode(id);
  if (!url.ok()) return url.status();
  if (Status s = ApplyEverywhere(config_); !s.ok()) return s;
  return id;
}

Status InProcessCluster::StopWorker(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end() || !it->second) return Status::NotFound("no running worker " + id);
  it->second->Stop();
  it->second.reset();
  return Status::Ok();
}

Status InProcessCluster::RestartWorker(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("no worker " + id);
  if (it->second) return Status::Conflict("worker " + id + " is running");
  return StartWorker(id, worker_ports_[id]);
}

void InProcessCluster::AddToSets(std::vector<ReplicaSet>& sets, const std::string& id) const {
  if (sets.empty() || static_cast<int>(sets.back().size()) == options_.replicas) {
    sets.emplace_back();
  }
  sets.back().push_back(id);
}

Result<uint64_t> InProcessCluster::WipeAndReseedWorker(const std::string& id,
                                                       const std::string& from) {
  auto peer = workers_.find(from);
  if (peer == workers_.end() || !peer->second) return Status::NotFound("no running worker " + from);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("no worker " + id);
  if (it->second) return Status::Conflict("worker " + id + " is running");
  Result<KcStore::Snapshot> snapshot = peer->second->store().TakeSnapshot();
  if (!snapshot.ok()) return snapshot.status().WithContext("snapshot of worker " + from);
  const std::string dir = options_.data_root + "/worker-" + id;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IoError("cannot delete " + dir + ": " + ec.message());
  if (Status made = EnsureDir(dir); !made.ok()) return made;
  for (const auto& [name, bytes] : snapshot->files) {
    if (Status written = WriteFileAtomically(dir, name, bytes); !written.ok()) return written;
  }
  if (Status started = StartWorker(id, worker_ports_[id]); !started.ok()) return started;
  return snapshot->bytes;
}

Result<uint64_t> InProcessCluster::CrashApiNode(const std::string& id) {
  auto it = api_nodes_.find(id);
  if (it == api_nodes_.end()) return Status::NotFound("no running API node " + id);
  const uint16_t port = it->second->LocalEndpoint().port();
  it->second->Crash();
  api_nodes_.erase(it);  // destroyed: its spool lock is released
  const Result<std::string> url = StartApiNode(id, port);
  if (!url.ok()) return url.status().WithContext("restarting it after the crash");
  return api_nodes_.at(id)->SpooledEvents();
}

std::vector<Status> InProcessCluster::OfferConfig(const ClusterConfig& next) {
  std::vector<Status> answers;
  Result<ClusterConfig> parsed = Reparse(next);
  for (auto& [id, node] : api_nodes_) {
    answers.push_back(parsed.ok() ? node->ReplaceConfig(*parsed)
                                  : parsed.status().WithContext("invalid config"));
  }
  return answers;
}

uint64_t InProcessCluster::StopApiNodes(std::chrono::milliseconds drain_timeout) {
  uint64_t undelivered = 0;
  for (auto& [id, node] : api_nodes_) undelivered += node->Stop(drain_timeout);
  api_nodes_.clear();
  return undelivered;
}

Result<uint16_t> InProcessCluster::StartReader() {
  const Result<std::string> url = StartApiNode("reader");
  if (!url.ok()) return url.status();
  return api_nodes_.at("reader")->LocalEndpoint().port();
}

}  // namespace rt
