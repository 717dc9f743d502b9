#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/cluster_config.h"
#include "config/node_url.h"
#include "server/api/enqueue_result.h"
#include "server/api/forwarder.h"
#include "server/api/replica_writer.h"
#include "server/api/spool/event_spool.h"
#include "server/metrics/metrics.h"
#include "server/model/batch_codec.h"

namespace rt {

// The settings every worker's Forwarder shares (see ForwarderOptions).
struct ForwarderSetOptions {
  std::string node_id;
  std::string key_id;
  std::shared_ptr<const RequestSigner> signer;  // signs every batch (ForwarderOptions)
  // Opens worker (or set) `id`'s spool (--spool-dir: a FileSpool), whose new streams
  // are named `<node>:<epoch>` + `stream_suffix` ("@<SetTag>" for a larger set, empty
  // for a worker); null: every worker gets a MemorySpool of queue_limit events.
  std::function<Result<std::shared_ptr<EventSpool>>(const std::string& id,
                                                    const std::string& stream_suffix)>
      open_spool;
  bool spool_fsync = false;  // the 202 waits for the spool's fsync (ForwarderOptions)
  std::function<void(const Status&)> on_fatal;  // ForwarderOptions::on_fatal
  size_t queue_limit = 1'000'000;
  size_t batch_max = 4096;
  std::chrono::milliseconds linger{2};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{2000};
};

// The API node's forwarders, one per worker id of the running config. SetWorkers
// installs a config's `worker-nodes`: new ids get a Forwarder (connected on first
// use), a moved worker keeps its Forwarder (and stream) pointed at the new URL, and
// ids no longer listed keep theirs until drained (their queued events still belong
// to that worker). Metrics are registered once per worker id.
//
// Each worker's events wait in its spool (docs/design.md §13 "Spool"), opened once
// per worker id and kept for the node's life. AdoptSpools takes the spools found on
// disk at start: a worker of the config gets its Forwarder over it; one without a
// URL keeps its events, and the node reports itself unhealthy (Unhealthy) until a
// config names the worker again.
// Replica sets of more than one worker (docs/design.md §14 "Replica sets", Write path) get a
// ReplicaWriter each: one spool named by the SetKey ("0+1"), one stream
// `<node>:<epoch>@<SetTag>`, one replica-member Forwarder per member, all created by
// SetWorkers from the sets the config's routing names. A worker that the routing only
// names inside larger sets gets no plain Forwarder (nothing would use it); one that
// is also a set of one somewhere (or nowhere in the routing) does, as before.
// Thread-safety: Enqueue/Unhealthy on the I/O threads concurrently (a shared lock);
// SetWorkers, Drain and Shutdown from the controlling thread.
class ForwarderSet {
 public:
  ForwarderSet(boost::asio::io_context& ioc, ForwarderSetOptions options, MetricsRegistry& metrics,
               Forwarder::AckCallback on_ack);
  ~ForwarderSet();

  ForwarderSet(const ForwarderSet&) = delete;
  ForwarderSet& operator=(const ForwarderSet&) = delete;

  // `workers`: id → URL (http://host:port/worker). Fails, changing nothing, if a URL
  // does not parse; fails if a new worker's spool does not open (the forwarders
  // made before it stay).
  // `sets`: every distinct replica set the config's routing names (ReplicaSetsOf).
  [[nodiscard]] Status SetWorkers(const std::map<std::string, std::string>& workers,
                                  const std::vector<ReplicaSet>& sets = {});
  // Opens the spools of `ids` (the worker directories found in the spool) so that
  // their events are kept and forwarded once a config names the worker. Call before
  // the first SetWorkers. `sets` (the config's, ReplicaSetsOf) names the spools of
  // larger sets, whose streams carry the set's tag.
  [[nodiscard]] Status AdoptSpools(const std::vector<std::string>& ids,
                                   const std::vector<ReplicaSet>& sets = {});
  // Events in every worker's spool not yet acknowledged (the gauges' sum).
  uint64_t SpooledEvents() const;
  // Workers with spooled events and no URL in the running config: id → events held.
  std::map<std::string, uint64_t> Orphans() const;

  // kQueueFull when the set is unknown or its queue is full, kUndeliverable when
  // it cannot be delivered to now (the caller answers 503 either way). A set of one
  // goes to its worker's Forwarder, a larger one to its ReplicaWriter.
  EnqueueOutcome Enqueue(const ReplicaSet& set, const BatchEvent& event);
  // The first undeliverable worker's reason ("key mismatch with worker N", "stream to
  // worker N stopped: ..."), nullopt when every worker can be served.
  std::optional<std::string> Unhealthy() const;
  // Why the node should not get new traffic for `workers` (those of the current
  // slice): the first of them that is undeliverable, whose last send failed and was
  // not acked since, or that has more than `max_queued` events unacked; nullopt when
  // none. Off the hot path (/readyz).
  std::optional<std::string> NotReady(const std::vector<ReplicaSet>& sets,
                                      uint64_t max_queued) const;
  // Why `set` cannot be served now, nullopt if it can (or is unknown).
  std::optional<std::string> Undeliverable(const ReplicaSet& set) const;

  // Drains every forwarder concurrently until `deadline`; returns the events that
  // could not be delivered. REQUIRES: not on a thread of `ioc`.
  uint64_t Drain(std::chrono::steady_clock::time_point deadline);
  void Shutdown();
  // EventSpool::SettleWaiting on every spool (at shutdown, once no POST can come).
  void SettleSpools();

  std::shared_ptr<Forwarder> Find(const std::string& worker) const;
  // The replica-member Forwarders of `worker` (one per larger set it is in).
  std::vector<std::shared_ptr<Forwarder>> FindMembers(const std::string& worker) const;

 private:
  boost::asio::io_context& ioc_;
  const ForwarderSetOptions options_;
  MetricsRegistry& metrics_;
  const Forwarder::AckCallback on_ack_;

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<Forwarder>, std::less<>> forwarders_;
  std::map<std::string, ForwarderMetrics, std::less<>> worker_metrics_;
  std::map<std::string, std::shared_ptr<EventSpool>, std::less<>> spools_;
  std::map<ReplicaSet, std::unique_ptr<ReplicaWriter>> replicas_;  // sets of 2 or more

  ForwarderOptions OptionsFor(const std::string& id, const NodeUrl& node,
                              std::shared_ptr<EventSpool> spool) const;
  // The writer of `set`, made on first use. REQUIRES: as SpoolOf.
  Status AddReplicaSet(const ReplicaSet& set, const std::map<std::string, NodeUrl>& urls);
  std::optional<std::string> NotReadyLocked(const std::string& worker, uint64_t max_queued) const;
  // Whether spool `id` is a replica set's shared spool, not one worker's. REQUIRES: mutex_ held.
  bool IsReplicaSpoolLocked(const std::string& id) const;
  // Whether spool `id` belongs to nothing the config names (its events wait). REQUIRES: as above.
  bool IsOrphanLocked(const std::string& id) const;

  // The spool of `id`, opened (and its gauges registered) on first use.
  // REQUIRES: mutex_ held exclusively.
  Result<std::shared_ptr<EventSpool>> SpoolOf(const std::string& id,
                                              const std::string& stream_suffix = "");
  ForwarderMetrics& MetricsOf(const std::string& id);  // REQUIRES: as SpoolOf
};

}  // namespace rt
