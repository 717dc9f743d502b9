#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/http/http_server.h"
#include "server/http/server_options.h"
#include "server/metrics/config_status.h"
#include "server/metrics/metrics.h"
#include "server/store/batch_writer.h"
#include "server/store/kc_store.h"
#include "server/worker/slice_range.h"
#include "server/worker/stale_state.h"
#include "server/worker/worker_handler.h"
#include "server/worker/worker_metrics.h"

namespace rt {

struct WorkerNodeOptions {
  std::string node_id;  // its id in worker-nodes, for /healthz (empty in-process)
  std::string data_dir;
  bool fsync = false;
  bool read_ahead = true;  // false: --no-read-ahead (KcStoreOptions::read_ahead)
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0: any free port (see WorkerNode::endpoint)
  http::ServerOptions server;
  // The bound of the writer's queue, in events (--max-queued-events).
  size_t max_queued_events = BatchWriter::kDefaultMaxQueuedEvents;
  // With a geometry, writes outside SliceRange are refused (serve-worker always
  // gives one); `clock` is what "now" is read from, the system clock if null.
  std::optional<SliceGeometry> slice_geometry;
  const Clock* clock = nullptr;
  // Slices older than now - seal_after_slices are sealed (docs/design.md §7
  // "Store records"); < 0: never. Needs slice_geometry (the clock's slice). serve-worker
  // derives it from max-late-slices.
  int64_t seal_after_slices = -1;
  // --retain-slices: counts of (sealed) slices older than now - retain_slices are
  // dropped; < 0: kept forever.
  int64_t retain_slices = -1;
  // The worker key (docs/design.md §3): every request but /healthz and /metrics must
  // be signed with it. Required: a worker without one does not start.
  std::optional<WorkerKey> worker_key;
  // Where signature timestamps are checked against; null: the system clock (as API
  // nodes sign by default: not the event clock, see ApiNodeOptions::signing_clock).
  // Must outlive the node.
  const Clock* signing_clock = nullptr;
};

// A complete worker node: the Kyoto store, its single writer, the endpoints and the
// HTTP server, assembled and torn down in the right order. Used by `rtctl
// serve-worker` and, in-process, by the simulator.
// Ownership: owns everything it starts. Thread-safety: Start/Stop from one
// controlling thread; the accessors from any.
class WorkerNode {
 public:
  // Opens the store (fails if another process holds the data dir), checks that
  // its data was written under the worker key's key id (stores it in a fresh
  // store; Conflict naming both ids otherwise), binds, and starts serving.
  [[nodiscard]] static Result<std::unique_ptr<WorkerNode>> Start(const WorkerNodeOptions& options);
  ~WorkerNode();  // Stop()
  WorkerNode(const WorkerNode&) = delete;
  WorkerNode& operator=(const WorkerNode&) = delete;

  // Stops accepting, lets in-flight requests finish (bounded by the server's drain
  // timeout), drains the writer, closes the store. Idempotent.
  void Stop();

  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  // REQUIRES: not stopped (callback gauges read the store).
  MetricsRegistry& metrics() { return registry_; }
  // REQUIRES: not stopped.
  KcStore& store() { return *store_; }
  // Whether this worker is a stale replica member (docs/design.md §14).
  const StaleState& stale_state() const { return *stale_; }
  // The config's source, revision and reachability, set by the owner (rtctl
  // serve-worker); shown on /metrics and /healthz.
  ConfigStatus& config_status() { return *config_status_; }

 private:
  WorkerNode() = default;
  std::string HealthJson(const std::string& node_id) const;

  SystemClock system_clock_;  // when no clock is given
  MetricsRegistry registry_;
  std::unique_ptr<RequestVerifier> verifier_;
  std::unique_ptr<KcStore> store_;
  std::unique_ptr<StaleState> stale_;
  std::unique_ptr<BatchWriter> writer_;
  std::unique_ptr<WorkerMetrics> worker_metrics_;
  std::unique_ptr<WorkerHandler> handler_;
  std::unique_ptr<ConfigStatus> config_status_;
  std::unique_ptr<http::HttpServer> server_;
  boost::asio::ip::tcp::endpoint endpoint_;
  bool stopped_ = false;
};

}  // namespace rt
