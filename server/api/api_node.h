#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/cluster_config.h"
#include "server/http/server_options.h"
#include "server/metrics/config_status.h"
#include "server/metrics/metrics.h"

namespace rt {

class ApiHandler;
class EventSpool;
class SpoolDisk;
class ForwarderSet;
class RequestSigner;
class SliceFetcher;
class StatsCache;
class UserKeyer;
class WorkerReadClients;
namespace http {
class HttpServer;
}

struct ApiNodeOptions {
  std::string node_id;
  std::string secret;  // the cluster secret; required (Create refuses an empty one)
  std::optional<std::string> listen_host;        // overrides the host of the node's URL
  std::optional<uint16_t> listen_port;           // overrides the port of the node's URL
  int threads = 0;                               // 0: one per hardware thread
  size_t queue_limit = 1'000'000;                // events per worker
  size_t batch_max = 4096;                       // events per batch
  std::chrono::milliseconds linger{2};           // flush a partial batch after this
  std::chrono::milliseconds read_timeout{2000};  // a worker's answer to a GET, from queueing
  // The spool (docs/design.md §13 "Spool"): --spool-dir, one FileSpool per worker
  // (the config's, and every worker directory already there); empty: each worker's
  // events wait in a MemorySpool of queue_limit events, lost with the process.
  std::string spool_dir;
  bool spool_fsync = false;                      // a 202 waits for the group fsync
  uint64_t spool_max_bytes = uint64_t{8} << 30;  // the node's spool files at most
  size_t spool_segment_bytes = size_t{4} << 20;  // per segment file (tests use less)
  // A spool failed (write, fsync): the node cannot keep its promises. Null: one
  // line on stderr and exit(1).
  std::function<void(const Status&)> on_spool_fatal;
  // The start config's source hash (ConfigSourceHash of the bytes it was read from);
  // empty for a config that was never text (the simulator's).
  std::string config_hash;
  http::ServerOptions server;  // threads are taken from `threads`
  // The time of signature timestamps on worker requests; null: the system clock,
  // not the node's event clock. Signature freshness is about transport, like a
  // timeout: the simulator's fast fake clock must not age requests in flight.
  const Clock* signing_clock = nullptr;
};

// An API node (docs/design.md §2 "Write path", §4 "Read path and cache"): HTTP
// server, keyed user hash, routing, per-worker forwarders, stats cache, and the
// running cluster config. Usable in-process (the simulator runs several on a fake
// clock) and by `rtctl serve-api`.
//
// Config changes go through ReplaceConfig, which applies a new config only if it
// validates and passes the safe-change check against the running one at the node's
// clock; otherwise the running config stays. Handlers read the config as an
// immutable snapshot, so a reload never blocks a request.
//
// The safe-change check also protects data that earlier configs let in
// (docs/design.md §5 "Config and the safe-change rule"): the node remembers the
// largest horizon of every config it ran (the start config's and each replaced
// one's, at the time it was replaced), and before deciding it asks every worker that
// the running config routes to which slices it holds (GET /worker/slices). A worker that cannot
// be asked makes the reload refused: without its answer the check could re-route a
// slice that holds data. The memory lives in the process: after a restart, the
// workers' answers (and the running config's own horizon) are what protects.
//
// Divergence is visible (docs/design.md §5 "Config and the safe-change rule"): the
// node remembers the source hash of the running config and how many configs it
// applied (rt_config_generation{hash} G, G = 1 after start), and whether the last
// config offered was refused (rt_config_refused{hash} 1 with the refused source's
// hash, else 0 with the running hash). While a refusal stands, /healthz answers 503
// "config refused: WHY; running config HASH": the node keeps serving with the
// running config, but an operator (or a load balancer) sees that it no longer runs
// what its source says. An applied config, or ConfirmConfigSource, ends it.
// Thread-safety: Start/Stop from one controlling thread; ReplaceConfig and the
// accessors from any thread.
class ApiNode {
 public:
  // REQUIRES: `config` is valid and names `options.node_id` among its api-nodes;
  // `clock` outlives the node. Fails without a secret: the node signs its worker
  // requests with the worker key derived from it (docs/design.md §3).
  static Result<std::unique_ptr<ApiNode>> Create(ClusterConfig config, ApiNodeOptions options,
                                                 const Clock& clock);
  ~ApiNode();

  // Binds (the node's URL port, or the override; 0 picks one) and starts serving.
  [[nodiscard]] Status Start();
  boost::asio::ip::tcp::endpoint LocalEndpoint() const;

  // Validates `next` and checks it against the running config at the node's clock,
  // with the slices the workers hold and the remembered horizon as the floor of the
  // protected slices; applies it when both pass. The error says why it was refused
  // (one line). Blocks up to about twice the read timeout while asking the workers.
  // REQUIRES: not called on the node's I/O threads.
  // `source_hash` identifies the text `next` was read from (ConfigSourceHash), for
  // the metrics and the refusal above.
  [[nodiscard]] Status ReplaceConfig(ClusterConfig next, std::string source_hash = {});

  // The last slice whose routing this node treats as fixed now (without asking the
  // workers): the largest of the remembered horizon, the greatest slice the workers
  // held at the last reload, and the running config's own horizon. Also the gauge
  // rt_api_protected_slice; -1 when nothing is protected.
  int64_t ProtectedSliceNow() const;
  std::shared_ptr<const ClusterConfig> config() const;
  // Counts a reload refused before it reached ReplaceConfig (the file did not load),
  // so that rt_api_config_reloads_total{outcome="refused"} counts every refusal.
  void CountRefusedReload();
  // A config source that could not be used (the file did not load: unreadable,
  // invalid, an unknown key under --strict): counts the refusal and reports it as
  // above. `why` may be several lines; the first is shown.
  void RefuseConfigSource(std::string source_hash, const std::string& why);
  // The source holds the running config again (parsed equal to it, maybe other
  // bytes): ends a refusal and takes `source_hash` as the running config's hash.
  void ConfirmConfigSource(std::string source_hash);
  // The one-line /healthz reason while a refusal stands; nullopt otherwise.
  std::optional<std::string> ConfigRefusal() const;

  // Stops accepting, flushes every forwarding queue (up to `drain_timeout`), stops
  // the server. Returns how many accepted events could not be delivered.
  uint64_t Stop(std::chrono::milliseconds drain_timeout);
  // Tears the node down as kill -9 would, as far as one process can do it to a part
  // of itself (the simulator's API-node crash, docs/design.md §10): every I/O thread
  // stops where it is (requests in flight get no answer, the batch in flight to a
  // worker is cut off), nothing is drained, flushed or synced, no cursor file is
  // written; the spool files keep what Append wrote. Then destroy the node; a fresh
  // ApiNode on the same --spool-dir resumes from the files alone. Not atomic like a
  // signal: a POST in its handler finishes its Append first (no torn record).
  void Crash();

  // Accepted events not yet acknowledged by their workers, over every spool.
  uint64_t SpooledEvents() const;

  MetricsRegistry& metrics() { return metrics_; }
  // The config's source, revision and reachability, set by the owner (rtctl
  // serve-api); shown on /metrics and /healthz.
  ConfigStatus& config_status() { return *config_status_; }

 private:
  // The JSON answer of /healthz (server/api/api_node_health.cpp).
  std::string HealthJson(const std::optional<std::string>& unhealthy) const;

  ApiNode(ClusterConfig config, ApiNodeOptions options, const Clock& clock);
  [[nodiscard]] Status OpenSpoolDisk();  // --spool-dir; at Create

  ApiNodeOptions options_;
  const Clock& clock_;
  MetricsRegistry metrics_;
  std::atomic<std::shared_ptr<const ClusterConfig>> config_;
  std::mutex reload_mutex_;  // one ReplaceConfig at a time
  Counter* reloads_applied_ = nullptr;
  Counter* reloads_refused_ = nullptr;
  // The config identity shown in metrics and /healthz (see the class comment).
  void SetRefusal(std::optional<std::string> hash, const std::string& why);
  void PublishIdentity();  // REQUIRES: identity_mutex_ held
  mutable std::mutex identity_mutex_;
  std::string running_hash_;
  int64_t generation_ = 1;
  std::optional<std::string> refused_hash_;
  std::string refusal_;  // one line
  LabeledGauge* generation_gauge_ = nullptr;
  LabeledGauge* refused_gauge_ = nullptr;
  std::unique_ptr<ConfigStatus> config_status_;
  // See the class comment; -1: none. Written under reload_mutex_, read by the gauge.
  std::atomic<int64_t> remembered_horizon_slice_{-1};
  std::atomic<int64_t> last_held_slice_{-1};

  // Declared before everything that holds its FileSpools (forwarders, pending
  // handlers of client_context_), so that it is destroyed after them.
  std::unique_ptr<SpoolDisk> spool_disk_;
  Histogram* spool_fsync_seconds_ = nullptr;
  Counter* spool_torn_tails_ = nullptr;
  Counter* spool_corrupt_segments_ = nullptr;
  // Opens worker `id`'s FileSpool, logging what its recovery found.
  Result<std::shared_ptr<EventSpool>> OpenFileSpool(const std::string& id,
                                                    const std::string& stream_suffix);

  // Outbound I/O (forwarders, reads) runs on its own context and thread, apart
  // from the server's, so that the two can be built and stopped in order.
  boost::asio::io_context client_context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> client_work_;
  std::thread client_thread_;

  std::unique_ptr<UserKeyer> keyer_;
  SystemClock system_clock_;
  std::shared_ptr<const RequestSigner> signer_;  // the worker key's; see signing_clock
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<StatsCache> cache_;
  std::unique_ptr<WorkerReadClients> read_clients_;
  std::unique_ptr<SliceFetcher> fetcher_;
  std::unique_ptr<ForwarderSet> forwarders_;
  class Sink;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<ApiHandler> handler_;
  bool stopped_ = false;
};

}  // namespace rt
