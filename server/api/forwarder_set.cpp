#include "server/api/forwarder_set.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include "config/node_url.h"
#include "config/replica_set.h"
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

Result<std::shared_ptr<EventSpool>> ForwarderSet::SpoolOf(const std::string& id,
                                                          const std::string& stream_suffix) {
  if (const auto found = spools_.find(id); found != spools_.end()) return found->second;
  std::shared_ptr<EventSpool> spool;
  if (options_.open_spool) {
    Result<std::shared_ptr<EventSpool>> opened = options_.open_spool(id, stream_suffix);
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

Status ForwarderSet::AdoptSpools(const std::vector<std::string>& ids,
                                 const std::vector<ReplicaSet>& sets) {
  std::unique_lock lock(mutex_);
  for (const std::string& id : ids) {
    std::string suffix;
    for (const ReplicaSet& set : sets) {
      if (set.size() > 1 && SetKey(set) == id) suffix = "@" + SetTag(set);
    }
    Result<std::shared_ptr<EventSpool>> spool = SpoolOf(id, suffix);
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

bool ForwarderSet::IsReplicaSpoolLocked(const std::string& id) const {
  // clang-14 cannot capture a structured binding, so `id` arrives as a plain parameter.
  return std::any_of(replicas_.begin(), replicas_.end(),
                     [&id](const auto& entry) { return entry.second->key() == id; });
}

bool ForwarderSet::IsOrphanLocked(const std::string& id) const {
  return forwarders_.find(id) == forwarders_.end() && !IsReplicaSpoolLocked(id);
}

std::map<std::string, uint64_t> ForwarderSet::Orphans() const {
  std::map<std::string, uint64_t> orphans;
  std::shared_lock lock(mutex_);
  for (const auto& [id, spool] : spools_) {
    if (!IsOrphanLocked(id)) continue;
    if (const uint64_t events = spool->events(); events > 0) orphans.emplace(id, events);
  }
  return orphans;
}

ForwarderOptions ForwarderSet::OptionsFor(const std::string& id, const NodeUrl& node,
                                          std::shared_ptr<EventSpool> spool) const {
  ForwarderOptions o;
  o.worker_id = id;
  o.host = node.host;
  o.port = node.port;
  o.node_id = options_.node_id;
  o.key_id = options_.key_id;
  o.signer = options_.signer;
  o.spool = std::move(spool);
  o.spool_on_disk = static_cast<bool>(options_.open_spool);
  o.spool_fsync = options_.spool_fsync;
  o.on_fatal = options_.on_fatal;
  o.queue_limit = options_.queue_limit;
  o.batch_max = options_.batch_max;
  o.linger = options_.linger;
  o.request_timeout = options_.request_timeout;
  o.connect_timeout = options_.connect_timeout;
  return o;
}

Status ForwarderSet::AddReplicaSet(const ReplicaSet& set,
                                   const std::map<std::string, NodeUrl>& urls) {
  if (const auto found = replicas_.find(set); found != replicas_.end()) {
    for (const ReplicaWriter::Member& member : found->second->members()) {
      const auto url = urls.find(member.forwarder->worker_id());
      if (url != urls.end()) member.forwarder->SetAddress(url->second.host, url->second.port);
    }
    return Status::Ok();
  }
  for (const std::string& id : set) {
    if (urls.find(id) == urls.end()) {
      return Status::InvalidArgument("worker set " + SetKey(set) + ": worker " + id +
                                     " has no URL in worker-nodes");
    }
  }
  const std::string key = SetKey(set);
  Result<std::shared_ptr<EventSpool>> spool = SpoolOf(key, "@" + SetTag(set));
  if (!spool.ok()) return spool.status();
  auto shared = std::make_shared<ReplicaSpool>(*spool, set.size());
  std::vector<ReplicaWriter::Member> members;
  for (size_t i = 0; i < set.size(); ++i) {
    ForwarderOptions o = OptionsFor(set[i], urls.at(set[i]), shared->Member(i));
    o.replica_member = true;
    o.stream_suffix = "@" + SetTag(set);
    ForwarderMetrics& metrics = MetricsOf(set[i]);
    members.push_back({Forwarder::Create(ioc_, std::move(o), metrics, on_ack_), metrics});
  }
  replicas_.emplace(set, std::make_unique<ReplicaWriter>(key, std::move(shared), std::move(members),
                                                         static_cast<bool>(options_.open_spool),
                                                         options_.spool_fsync, options_.on_fatal));
  return Status::Ok();
}

Status ForwarderSet::SetWorkers(const std::map<std::string, std::string>& workers,
                                const std::vector<ReplicaSet>& sets) {
  std::map<std::string, NodeUrl> parsed;
  for (const auto& [id, url] : workers) {
    Result<NodeUrl> node = ParseNodeUrl(url);
    if (!node.ok()) return node.status().WithContext("worker " + id + " url \"" + url + "\"");
    parsed.emplace(id, *node);
  }
  // A worker the routing names only inside larger sets needs no plain Forwarder.
  auto only_in_larger_sets = [&](const std::string& id) {
    bool larger = false;
    for (const ReplicaSet& set : sets) {
      if (std::find(set.begin(), set.end(), id) == set.end()) continue;
      if (set.size() == 1) return false;
      larger = true;
    }
    return larger;
  };
  std::unique_lock lock(mutex_);
  for (auto& [id, node] : parsed) {
    const auto found = forwarders_.find(id);
    if (found != forwarders_.end()) {
      found->second->SetAddress(node.host, node.port);
      continue;
    }
    if (only_in_larger_sets(id) && !spools_.count(id)) continue;
    Result<std::shared_ptr<EventSpool>> spool = SpoolOf(id);
    if (!spool.ok()) return spool.status();
    forwarders_.emplace(
        id, Forwarder::Create(ioc_, OptionsFor(id, node, *spool), MetricsOf(id), on_ack_));
  }
  for (const ReplicaSet& set : sets) {
    if (set.size() < 2) continue;
    if (Status status = AddReplicaSet(set, parsed); !status.ok()) return status;
  }
  return Status::Ok();
}

EnqueueOutcome ForwarderSet::Enqueue(const ReplicaSet& set, const BatchEvent& event) {
  std::shared_lock lock(mutex_);
  if (set.size() == 1) {
    const auto it = forwarders_.find(set.front());
    return it == forwarders_.end() ? EnqueueOutcome{} : it->second->Enqueue(event);
  }
  const auto it = replicas_.find(set);
  return it == replicas_.end() ? EnqueueOutcome{} : it->second->Enqueue(event);
}

std::optional<std::string> ForwarderSet::Unhealthy() const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, forwarder] : forwarders_) {
    if (std::optional<std::string> why = forwarder->Undeliverable()) return why;
  }
  for (const auto& [set, writer] : replicas_) {
    if (std::optional<std::string> why = writer->Undeliverable()) return why;
  }
  for (const auto& [id, spool] : spools_) {
    if (!IsOrphanLocked(id)) continue;
    if (const uint64_t events = spool->events(); events > 0) {
      return "the spool holds " + std::to_string(events) + " events for worker " + id +
             ", which the config does not name: they wait until a config lists it again";
    }
  }
  return std::nullopt;
}

std::optional<std::string> ForwarderSet::NotReadyLocked(const std::string& worker,
                                                        uint64_t max_queued) const {
  const auto it = forwarders_.find(worker);
  if (it == forwarders_.end()) return std::nullopt;
  const Forwarder& forwarder = *it->second;
  if (std::optional<std::string> why = forwarder.Undeliverable()) return why;
  if (forwarder.retrying()) {
    return "worker " + worker + " unreachable: its last batch failed and is being retried";
  }
  if (const uint64_t queued = forwarder.queued(); queued > max_queued) {
    return "forwarding queue of worker " + worker + " holds " + std::to_string(queued) +
           " events (threshold " + std::to_string(max_queued) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> ForwarderSet::NotReady(const std::vector<ReplicaSet>& sets,
                                                  uint64_t max_queued) const {
  std::shared_lock lock(mutex_);
  for (const ReplicaSet& set : sets) {
    std::optional<std::string> why;
    if (set.size() == 1) {
      why = NotReadyLocked(set.front(), max_queued);
    } else if (const auto it = replicas_.find(set); it != replicas_.end()) {
      why = it->second->NotReady(max_queued);
    }
    if (why) return why;
  }
  return std::nullopt;
}

std::optional<std::string> ForwarderSet::Undeliverable(const ReplicaSet& set) const {
  std::shared_lock lock(mutex_);
  if (set.size() == 1) {
    const auto it = forwarders_.find(set.front());
    return it == forwarders_.end() ? std::nullopt : it->second->Undeliverable();
  }
  const auto it = replicas_.find(set);
  return it == replicas_.end() ? std::nullopt : it->second->Undeliverable();
}

uint64_t ForwarderSet::Drain(std::chrono::steady_clock::time_point deadline) {
  std::vector<std::shared_ptr<Forwarder>> all;
  std::vector<std::shared_ptr<Forwarder>> members;
  std::vector<const ReplicaWriter*> writers;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, forwarder] : forwarders_) all.push_back(forwarder);
    for (const auto& [set, writer] : replicas_) {
      writers.push_back(writer.get());  // writers live as long as this object
      for (const ReplicaWriter::Member& member : writer->members()) {
        members.push_back(member.forwarder);
      }
    }
  }
  for (const auto& f : all) f->BeginDrain();
  for (const auto& f : members) f->BeginDrain();
  uint64_t undelivered = 0;
  for (const auto& f : all) undelivered += f->Drain(deadline);
  // A set's events are undelivered until every member has them (a member that is
  // down keeps them in the spool for the next start).
  for (const auto& f : members) f->Drain(deadline);
  for (const ReplicaWriter* writer : writers) undelivered += writer->queued();
  return undelivered;
}

void ForwarderSet::Shutdown() {
  std::shared_lock lock(mutex_);
  for (const auto& [id, forwarder] : forwarders_) forwarder->Shutdown();
  for (const auto& [set, writer] : replicas_) writer->Shutdown();
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

std::vector<std::shared_ptr<Forwarder>> ForwarderSet::FindMembers(const std::string& worker) const {
  std::vector<std::shared_ptr<Forwarder>> found;
  std::shared_lock lock(mutex_);
  for (const auto& [set, writer] : replicas_) {
    for (const ReplicaWriter::Member& member : writer->members()) {
      if (member.forwarder->worker_id() == worker) found.push_back(member.forwarder);
    }
  }
  return found;
}

}  // namespace rt
