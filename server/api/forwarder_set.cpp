#include "server/api/forwarder_set.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include "config/node_url.h"
#include "server/api/spool/memory_spool.h"

namespace rt {

ForwarderSet::ForwarderSet(boost::asio::io_context& ioc, ForwarderSetOptions options,
                           MetricsRegistry& metrics, Forwarder::AckCallback on_ack)
    : ioc_(ioc), options_(std::move(options)), metrics_(metrics), on_ack_(std::move(on_ack)) {}

ForwarderSet::~ForwarderSet() { Shutdown(); }

ForwarderMetrics& ForwarderSet::MetricsOf(const std::string& id) {
  auto metrics = worker_metrics_.find(id);
  if (metrics == worker_metrics_.end()) {
    metrics = worker_metrics_.emplace(id, ForwarderMetrics::Register(metrics_, id)).first;
  }
  return metrics->second;
}

Result<std::shared_ptr<EventSpool>> ForwarderSet::SpoolOf(const std::string& id) {
  if (const auto found = spools_.find(id); found != spools_.end()) return found->second;
  std::shared_ptr<EventSpool> spool;
  if (options_.open_spool) {
    Result<std::shared_ptr<EventSpool>> opened = options_.open_spool(id);
    if (!opened.ok()) return opened.status().WithContext("spool of worker " + id);
    spool = std::move(*opened);
  } else {
    spool = std::make_shared<MemorySpool>(options_.queue_limit);
  }
  // Weak: a FileSpool must not outlive its SpoolDisk, and the registry outlives both.
  const std::weak_ptr<EventSpool> weak = spool;
  auto read = [weak](uint64_t (EventSpool::*field)() const) {
    return [weak, field] {
      const std::shared_ptr<EventSpool> held = weak.lock();
      return held ? static_cast<double>(((*held).*field)()) : 0.0;
    };
  };
  const std::string labels = "worker=\"" + id + "\"";
  metrics_.AddCallbackGauge("rt_api_spool_bytes",
                            "Bytes the worker's spool holds (segment files, or memory)",
                            read(&EventSpool::bytes), labels);
  metrics_.AddCallbackGauge("rt_api_spool_events",
                            "Events in the worker's spool not yet acknowledged by it",
                            read(&EventSpool::events), labels);
  metrics_.AddCallbackGauge(
      "rt_api_spool_oldest_unacked_seconds",
      "Age of the oldest event in the worker's spool not acknowledged by it (0: none)",
      [weak] {
        const std::shared_ptr<EventSpool> held = weak.lock();
        const int64_t oldest = held ? held->oldest_unacknowledged_ms() : 0;
        if (oldest == 0) return 0.0;
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        return static_cast<double>(std::max<int64_t>(0, now - oldest)) / 1000.0;
      },
      labels);
  spools_.emplace(id, spool);
  return spool;
}

Status ForwarderSet::AdoptSpools(const std::vector<std::string>& ids) {
  std::unique_lock lock(mutex_);
  for (const std::string& id : ids) {
    Result<std::shared_ptr<EventSpool>> spool = SpoolOf(id);
    if (!spool.ok()) return spool.status();
    MetricsOf(id);
  }
  return Status::Ok();
}

uint64_t ForwarderSet::SpooledEvents() const {
  uint64_t events = 0;
  std::shared_lock lock(mutex_);
  for (const auto& [id, spool] : spools_) events += spool->events();
  return events;
}

std::map<std::string, uint64_t> ForwarderSet::Orphans() const {
  std::map<std::string, uint64_t> orphans;
  std::shared_lock lock(mutex_);
  for (const auto& [id, spool] : spools_) {
    if (forwarders_.find(id) != forwarders_.end()) continue;
    if (const uint64_t events = spool->events(); events > 0) orphans.emplace(id, events);
  }
  return orphans;
}

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
    Result<std::shared_ptr<EventSpool>> spool = SpoolOf(id);
    if (!spool.ok()) return spool.status();
    ForwarderOptions o;
    o.worker_id = id;
    o.host = node.host;
    o.port = node.port;
    o.node_id = options_.node_id;
    o.key_id = options_.key_id;
    o.signer = options_.signer;
    o.spool = *spool;
    o.spool_on_disk = static_cast<bool>(options_.open_spool);
    o.spool_fsync = options_.spool_fsync;
    o.on_fatal = options_.on_fatal;
    o.queue_limit = options_.queue_limit;
    o.batch_max = options_.batch_max;
    o.linger = options_.linger;
    o.request_timeout = options_.request_timeout;
    o.connect_timeout = options_.connect_timeout;
    forwarders_.emplace(id, Forwarder::Create(ioc_, std::move(o), MetricsOf(id), on_ack_));
  }
  return Status::Ok();
}

EnqueueOutcome ForwarderSet::Enqueue(const std::string& worker, const BatchEvent& event) {
  std::shared_lock lock(mutex_);
  const auto it = forwarders_.find(worker);
  return it == forwarders_.end() ? EnqueueOutcome{} : it->second->Enqueue(event);
}

std::optional<std::string> ForwarderSet::Unhealthy() const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, forwarder] : forwarders_) {
    if (std::optional<std::string> why = forwarder->Undeliverable()) return why;
  }
  for (const auto& [id, spool] : spools_) {
    if (forwarders_.find(id) != forwarders_.end()) continue;
    if (const uint64_t events = spool->events(); events > 0) {
      return "the spool holds " + std::to_string(events) + " events for worker " + id +
             ", which the config does not name: they wait until a config lists it again";
    }
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

void ForwarderSet::SettleSpools() {
  std::shared_lock lock(mutex_);
  for (const auto& [id, spool] : spools_) spool->SettleWaiting();
}

std::shared_ptr<Forwarder> ForwarderSet::Find(const std::string& worker) const {
  std::shared_lock lock(mutex_);
  const auto it = forwarders_.find(worker);
  return it == forwarders_.end() ? nullptr : it->second;
}

}  // namespace rt
