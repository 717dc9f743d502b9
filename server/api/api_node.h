#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "config/cluster_config.h"
#include "server/http/server_options.h"
#include "server/metrics/metrics.h"

namespace rt {

class ApiHandler;
class ForwarderSet;
class SliceFetcher;
class StatsCache;
class UserKeyer;
class WorkerReadClients;
namespace http {
class HttpServer;
}

struct ApiNodeOptions {
  std::string node_id;
  std::string secret;                            // empty: no secret (the caller warns loudly)
  std::optional<std::string> listen_host;        // overrides the host of the node's URL
  std::optional<uint16_t> listen_port;           // overrides the port of the node's URL
  int threads = 0;                               // 0: one per hardware thread
  size_t queue_limit = 1'000'000;                // events per worker
  size_t batch_max = 4096;                       // events per batch
  std::chrono::milliseconds linger{2};           // flush a partial batch after this
  std::chrono::milliseconds read_timeout{2000};  // a worker's answer to a GET
  http::ServerOptions server;                    // threads are taken from `threads`
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
// Thread-safety: Start/Stop from one controlling thread; ReplaceConfig and the
// accessors from any thread.
class ApiNode {
 public:
  // REQUIRES: `config` is valid and names `options.node_id` among its api-nodes;
  // `clock` outlives the node.
  static Result<std::unique_ptr<ApiNode>> Create(ClusterConfig config, ApiNodeOptions options,
                                                 const Clock& clock);
  ~ApiNode();

  // Binds (the node's URL port, or the override; 0 picks one) and starts serving.
  [[nodiscard]] Status Start();
  boost::asio::ip::tcp::endpoint LocalEndpoint() const;

  // Validates `next` and checks it against the running config at the node's clock;
  // applies it when both pass. The error says why it was refused (one line).
  [[nodiscard]] Status ReplaceConfig(ClusterConfig next);
  std::shared_ptr<const ClusterConfig> config() const;

  // Stops accepting, flushes every forwarding queue (up to `drain_timeout`), stops
  // the server. Returns how many accepted events could not be delivered.
  uint64_t Stop(std::chrono::milliseconds drain_timeout);

  MetricsRegistry& metrics() { return metrics_; }

 private:
  ApiNode(ClusterConfig config, ApiNodeOptions options, const Clock& clock);

  ApiNodeOptions options_;
  const Clock& clock_;
  MetricsRegistry metrics_;
  std::atomic<std::shared_ptr<const ClusterConfig>> config_;
  std::mutex reload_mutex_;  // one ReplaceConfig at a time
  Counter* reloads_applied_ = nullptr;
  Counter* reloads_refused_ = nullptr;

  // Outbound I/O (forwarders, reads) runs on its own context and thread, apart
  // from the server's, so that the two can be built and stopped in order.
  boost::asio::io_context client_context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> client_work_;
  std::thread client_thread_;

  std::unique_ptr<UserKeyer> keyer_;
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
