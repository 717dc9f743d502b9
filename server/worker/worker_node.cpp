#include "server/worker/worker_node.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "server/metrics/process_metrics.h"

namespace rt {

Result<std::unique_ptr<WorkerNode>> WorkerNode::Start(const WorkerNodeOptions& options) {
  if (!options.worker_key) {
    return Status::InvalidArgument("no worker key: every worker request must be signed");
  }
  std::unique_ptr<WorkerNode> node(new WorkerNode());
  const Clock& signing_clock =
      options.signing_clock != nullptr ? *options.signing_clock : node->system_clock_;
  node->verifier_ = std::make_unique<RequestVerifier>(*options.worker_key, signing_clock);
  const std::string key_id = options.worker_key->KeyId();
  KcStoreOptions store_options;
  store_options.fsync = options.fsync;
  store_options.read_ahead = options.read_ahead;
  if (options.slice_geometry) {
    const Clock* clock = options.clock != nullptr ? options.clock : &node->system_clock_;
    store_options.current_slice = [geometry = *options.slice_geometry, clock] {
      return SliceRange::SliceAt(geometry, clock->NowMillis());
    };
    store_options.seal_after_slices = options.seal_after_slices;
    store_options.retain_slices = options.retain_slices;
  }
  Result<std::unique_ptr<KcStore>> store = KcStore::Open(options.data_dir, store_options);
  if (!store.ok()) return store.status();
  node->store_ = std::move(store).value();
  // One line each, only when something happened (docs/design.md §7 "Store records").
  for (const std::string& line :
       {RepairSummary(node->store_->start_report()), TornTailSummary(node->store_->start_report()),
        ReadAheadSummary(node->store_->start_report())}) {
    if (!line.empty())
      std::fprintf(stderr, "rt-worker: %s: %s\n", options.data_dir.c_str(), line.c_str());
  }
  if (Status adopted = node->store_->AdoptKeyId(key_id); !adopted.ok()) return adopted;
  Result<std::unique_ptr<StaleState>> stale = StaleState::Load(options.data_dir, options.node_id);
  if (!stale.ok()) return stale.status();
  node->stale_ = std::move(stale).value();
  if (std::optional<std::string> line = node->stale_->Line()) {
    std::fprintf(stderr, "rt-worker: %s: %s\n", options.data_dir.c_str(), line->c_str());
  }
  node->writer_ = std::make_unique<BatchWriter>(*node->store_, /*start_paused=*/false,
                                                std::max<size_t>(1, options.max_queued_events));
  node->worker_metrics_ =
      std::make_unique<WorkerMetrics>(node->registry_, *node->store_, *node->writer_);
  std::optional<SliceRange> range;
  if (options.slice_geometry) {
    range.emplace(*options.slice_geometry,
                  options.clock != nullptr ? *options.clock : node->system_clock_);
  }
  node->handler_ =
      std::make_unique<WorkerHandler>(*node->store_, *node->writer_, *node->worker_metrics_,
                                      node->registry_, *node->verifier_, key_id, range);
  node->handler_->SetStaleState(node->stale_.get());
  node->config_status_ = std::make_unique<ConfigStatus>(node->registry_);
  node->handler_->SetHealthDetails(
      [status = node->config_status_.get()] { return status->DownNote(); },
      [raw = node.get(), id = options.node_id] { return raw->HealthJson(id); });
  http::Router router;
  node->handler_->Register(router);
  node->server_ = std::make_unique<http::HttpServer>(std::move(router), options.server);
  const http::HttpServer* server = node->server_.get();
  RegisterProcessMetrics(node->registry_);
  node->registry_.AddCallbackGauge(
      "rt_worker_stale",
      "1 while this worker is a stale replica member waiting to be reseeded, else 0",
      [stale = node->stale_.get()] { return stale->stale() ? 1.0 : 0.0; });
  node->registry_.AddCallbackGauge(
      "rt_http_connections_open", "Client connections open now",
      [server] { return static_cast<double>(server->OpenConnections()); });
  node->registry_.AddCallbackCounter(
      "rt_http_connections_refused_total",
      "Connections closed at accept because --max-connections were open",
      [server] { return static_cast<double>(server->RefusedConnections()); });
  if (Status listening = node->server_->Listen(options.listen_host, options.listen_port);
      !listening.ok()) {
    return listening;
  }
  node->endpoint_ = node->server_->LocalEndpoint();
  node->server_->Start();
  return node;
}

WorkerNode::~WorkerNode() { Stop(); }

// What `rtctl status` shows per worker: the running config's identity, the writer's
// backlog and the slices held. Runs on the server's threads while the node is up.
std::string WorkerNode::HealthJson(const std::string& node_id) const {
  using nlohmann::json;
  const ConfigStatus::Snapshot source = config_status_->Get();
  const std::vector<std::pair<int64_t, SliceStats>> slices = store_->AllSlices();
  json held = {{"count", slices.size()}};
  if (!slices.empty()) {
    held["first"] = slices.front().first;
    held["last"] = slices.back().first;
  }
  const std::optional<std::string> stale = stale_->Line();
  return json{{"kind", "worker"},
              {"node", node_id},
              {"healthy", !stale},
              {"reason", stale ? json(*stale) : json(nullptr)},
              {"config",
               {{"source", source.source},
                {"location", source.location},
                {"revision", source.revision},
                {"hash", source.hash},
                {"source_up", source.source_up},
                {"source_error", source.source_up ? json(nullptr) : json(source.source_error)}}},
              {"queued_events", writer_->QueuedEvents()},
              {"slices", std::move(held)}}
      .dump();
}

void WorkerNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Order matters: requests still in flight wait for the writer, and the writer's
  // completions post to the server's (stopped but still existing) executors.
  if (server_) server_->Stop();
  if (writer_) writer_->Stop();
  server_.reset();
  handler_.reset();
  writer_.reset();
  store_.reset();
  stale_.reset();
}

}  // namespace rt
