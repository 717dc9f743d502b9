#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "config/cluster_config.h"
#include "server/api/enqueue_result.h"
#include "server/api/reject_reason.h"
#include "server/api/slice_fetcher.h"
#include "server/http/router.h"
#include "server/metrics/metrics.h"
#include "server/model/batch_codec.h"
#include "server/model/user_keyer.h"

namespace rt {

// Where the API node puts admitted events: the per-worker forwarders (or, in tests,
// a recorder). Enqueue is on the POST hot path: it must not block.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // kQueued (with where the 202 must wait, see EnqueueOutcome), or why the POST gets
  // a 503 instead (a full queue, or a set this node cannot deliver to now). `set`
  // is the routing's replica set (a set of one: a worker).
  virtual EnqueueOutcome Enqueue(const ReplicaSet& set, const BatchEvent& event) = 0;
  // A one-line reason when the node must report itself unhealthy (a worker refused
  // our key id, a stream was stopped), nullopt when healthy.
  virtual std::optional<std::string> Unhealthy() const = 0;
  // After kUndeliverable: the one-line reason for `set` (off the hot path).
  virtual std::string UndeliverableReason(const ReplicaSet& set) const = 0;
  // A one-line reason why new traffic for `sets` (the current slice's) should go
  // elsewhere (/readyz), nullopt when it may come. Off the hot path.
  virtual std::optional<std::string> NotReady(const std::vector<ReplicaSet>& sets) const {
    (void)sets;
    return std::nullopt;
  }
};

// The API node's endpoints (docs/http.md): POST/GET /analytics,
// /analytics/perworker, /analytics/allslices, /healthz, /readyz, /metrics.
// /healthz is liveness plus what needs an operator (a refused config, an
// undeliverable worker); /readyz adds what a load balancer should route around:
// a worker of the current slice unreachable or with a long forwarding queue. Pure request
// handling: the config snapshot, the clock, the sink and the fetcher are given, so
// tests drive it without sockets.
// Thread-safety: the handlers run concurrently on the I/O threads; everything they
// touch is thread-safe. The handler must outlive the server it is registered with.
class ApiHandler {
 public:
  using ConfigSource = std::function<std::shared_ptr<const ClusterConfig>()>;
  // A one-line reason for /healthz to answer 503 beside the sink's (the node's
  // config refusal), nullopt when there is none.
  using HealthCheck = std::function<std::optional<std::string>()>;

  ApiHandler(ConfigSource config, const UserKeyer& keyer, const Clock& clock, EventSink& sink,
             SliceFetcher& fetcher, MetricsRegistry& metrics, HealthCheck health = {});

  void Register(http::Router& router);

  // /healthz extras from the node (docs/design.md §6 "HTTP core: threads and
  // deadlines"): `note` (may be empty) a line added to the text answer while it has
  // one (the config source being unreachable), `json` the body answered to
  // `Accept: application/json`, given the 503 reason or nullopt. REQUIRES: called
  // before the handler serves.
  using HealthJson = std::function<std::string(const std::optional<std::string>& unhealthy)>;
  void SetHealthDetails(HealthCheck note, HealthJson json);

  void HandlePostEvent(http::Request& request, http::Responder respond);
  void HandleGetStats(http::Request& request, http::Responder respond);
  void HandleGetPerWorker(http::Request& request, http::Responder respond);
  void HandleGetAllSlices(http::Request& request, http::Responder respond);
  void HandleHealth(http::Request& request, http::Responder respond);
  void HandleReady(http::Request& request, http::Responder respond);
  void HandleMetrics(http::Request& request, http::Responder respond);

  uint64_t Rejected(RejectReason reason) const {
    return rejected_[static_cast<size_t>(reason)]->Value();
  }

 private:
  // The slice and its routing list for a GET's `timestamp`, or the 400 to send.
  struct ReadTarget {
    std::shared_ptr<const ClusterConfig> config;
    int64_t slice = 0;
    const std::vector<ReplicaSet>* nodes = nullptr;
  };
  // /healthz's one-line reason to answer 503, nullopt when healthy.
  std::optional<std::string> UnhealthyReason() const;
  std::optional<ReadTarget> ResolveReadTarget(const http::Request& request,
                                              http::Responder& respond);

  ConfigSource config_;
  const UserKeyer& keyer_;
  const Clock& clock_;
  EventSink& sink_;
  SliceFetcher& fetcher_;
  MetricsRegistry& metrics_;
  HealthCheck health_;
  HealthCheck health_note_;
  HealthJson health_json_;

  Counter& received_clicks_;
  Counter& received_impressions_;
  std::array<Counter*, static_cast<size_t>(RejectReason::kCount)> rejected_{};
  Counter& gets_;
  Counter& get_failures_;
  Histogram& post_latency_;
  Histogram& get_latency_;
};

// "slice,S\nworker,URL\n" and the three lines, per worker. With `with_start`, a line
// "start,YYYY-MM-DDTHH:MM:SS" (the slice's start, UTC, in that config) follows
// "slice,S": only for a client that asked with the query parameter `with-start`,
// since older parsers (rtctl --table before it) refuse a key they do not know.
std::string FormatPerWorker(int64_t slice, const std::vector<WorkerStats>& workers,
                            const ClusterConfig* with_start = nullptr);
// "slice,S\n" (and "start,..." as above) and the three lines, per slice, ascending.
std::string FormatAllSlices(const std::map<int64_t, SliceStats>& slices,
                            const ClusterConfig* with_start = nullptr);

}  // namespace rt
