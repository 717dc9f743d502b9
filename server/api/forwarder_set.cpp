#include "server/api/forwarder_set.h"

#include <mutex>
#include <utility>
#include <vector>

#include "config/node_url.h"

namespace rt {

ForwarderSet::ForwarderSet(boost::asio::io_context& ioc, ForwarderSetOptions options,
                           MetricsRegistry& metrics, Forwarder::AckCallback on_ack)
    : ioc_(ioc), options_(std::move(options)), metrics_(metrics), on_ack_(std::move(on_ack)) {}

ForwarderSet::~ForwarderSet() { Shutdown(); }

Status ForwarderSet::SetWorkers(const std::map<std::string, std::string>& workers) {
  std::map<std::string, NodeUrl> parsed;
  for (const auto& [id, url] : workers) {
    Result<NodeUrl> node = ParseNodeUrl(url);
    if (!node.ok()) return node.status().WithContext("worker " + id + " url \"" + url + "\"");
    parsed.emplace(id, *node);
  }
  std::unique_lock lock(mutex_);
  for (auto& [id, node] : parsed) {
    const auto found = forwarders_.find(id);
    if (found != forwarders_.end()) {
      found->second->SetAddress(node.host, node.port);
      continue;
    }
    auto metrics = worker_metrics_.find(id);
    if (metrics == worker_metrics_.end()) {
      metrics = worker_metrics_.emplace(id, ForwarderMetrics::Register(metrics_, id)).first;
    }
    ForwarderOptions o;
    o.worker_id = id;
    o.host = node.host;
    o.port = node.port;
    o.node_id = options_.node_id;
    o.key_id = options_.key_id;
    o.signer = options_.signer;
    o.queue_limit = options_.queue_limit;
    o.batch_max = options_.batch_max;
    o.linger = options_.linger;
    o.request_timeout = options_.request_timeout;
    o.connect_timeout = options_.connect_timeout;
    forwarders_.emplace(id, Forwarder::Create(ioc_, std::move(o), metrics->second, on_ack_));
  }
  return Status::Ok();
}

EnqueueResult ForwarderSet::Enqueue(const std::string& worker, const BatchEvent& event) {
  std::shared_lock lock(mutex_);
  const auto it = forwarders_.find(worker);
  return it == forwarders_.end() ? EnqueueResult::kQueueFull : it->second->Enqueue(event);
}

std::optional<std::string> ForwarderSet::Unhealthy() const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, forwarder] : forwarders_) {
    if (std::optional<std::string> why = forwarder->Undeliverable()) return why;
  }
  return std::nullopt;
}

std::optional<std::string> ForwarderSet::NotReady(const std::vector<std::string>& workers,
                                                  uint64_t max_queued) const {
  std::shared_lock lock(mutex_);
  for (const std::string& worker : workers) {
    const auto it = forwarders_.find(worker);
    if (it == forwarders_.end()) continue;
    const Forwarder& forwarder = *it->second;
    if (std::optional<std::string> why = forwarder.Undeliverable()) return why;
    if (forwarder.retrying()) {
      return "worker " + worker + " unreachable: its last batch failed and is being retried";
    }
    if (const uint64_t queued = forwarder.queued(); queued > max_queued) {
      return "forwarding queue of worker " + worker + " holds " + std::to_string(queued) +
             " events (threshold " + std::to_string(max_queued) + ")";
    }
  }
  return std::nullopt;
}

std::optional<std::string> ForwarderSet::Undeliverable(const std::string& worker) const {
  std::shared_lock lock(mutex_);
  const auto it = forwarders_.find(worker);
  return it == forwarders_.end() ? std::nullopt : it->second->Undeliverable();
}

uint64_t ForwarderSet::Drain(std::chrono::steady_clock::time_point deadline) {
  std::vector<std::shared_ptr<Forwarder>> all;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, forwarder] : forwarders_) all.push_back(forwarder);
  }
  for (const auto& f : all) f->BeginDrain();
  uint64_t undelivered = 0;
  for (const auto& f : all) undelivered += f->Drain(deadline);
  return undelivered;
}

void ForwarderSet::Shutdown() {
  std::shared_lock lock(mutex_);
  for (const auto& [id, forwarder] : forwarders_) forwarder->Shutdown();
}

std::shared_ptr<Forwarder> ForwarderSet::Find(const std::string& worker) const {
  std::shared_lock lock(mutex_);
  const auto it = forwarders_.find(worker);
  return it == forwarders_.end() ? nullptr : it->second;
}

}  // namespace rt
