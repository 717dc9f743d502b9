#include "server/api/api_node.h"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <iostream>

#include "config/config_validation.h"
#include "config/node_url.h"
#include "config/replica_set.h"
#include "config/safe_change.h"
#include "server/api/api_handler.h"
#include "server/api/forwarder_set.h"
#include "server/api/slice_fetcher.h"
#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_disk.h"
#include "server/api/stats_cache.h"
#include "server/api/stream_id.h"
#include "server/api/worker_read_clients.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "server/http/http_server.h"
#include "server/metrics/process_metrics.h"
#include "server/model/user_keyer.h"

namespace rt {

// Puts admitted events into the forwarders; the handler's view of them.
class ApiNode::Sink final : public EventSink {
 public:
  Sink(ForwarderSet& forwarders, uint64_t ready_max_queued)
      : forwarders_(forwarders), ready_max_queued_(ready_max_queued) {}
  EnqueueOutcome Enqueue(const ReplicaSet& set, const BatchEvent& event) override {
    return forwarders_.Enqueue(set, event);
  }
  std::optional<std::string> Unhealthy() const override { return forwarders_.Unhealthy(); }
  std::string UndeliverableReason(const ReplicaSet& set) const override {
    return forwarders_.Undeliverable(set).value_or("it cannot be served now");
  }
  std::optional<std::string> NotReady(const std::vector<ReplicaSet>& sets) const override {
    return forwarders_.NotReady(sets, ready_max_queued_);
  }

 private:
  ForwarderSet& forwarders_;
  const uint64_t ready_max_queued_;
};

Result<std::unique_ptr<ApiNode>> ApiNode::Create(ClusterConfig config, ApiNodeOptions options,
                                                 const Clock& clock) {
  if (config.api_nodes.find(options.node_id) == config.api_nodes.end()) {
    return Status::InvalidArgument("node id \"" + options.node_id +
                                   "\" is not among the config's api-nodes");
  }
  if (options.secret.empty()) return Status::InvalidArgument("no cluster secret");
  std::unique_ptr<ApiNode> node(new ApiNode(std::move(config), std::move(options), clock));
  if (Status status = node->OpenSpoolDisk(); !status.ok()) return status;
  return node;
}

Status ApiNode::OpenSpoolDisk() {
  if (options_.spool_dir.empty()) return Status::Ok();
  SpoolDisk::Options spool;
  spool.dir = options_.spool_dir;
  spool.max_bytes = options_.spool_max_bytes;
  spool.segment_bytes = options_.spool_segment_bytes;
  spool.fsync = options_.spool_fsync;
  spool.fsync_seconds = spool_fsync_seconds_;
  spool.on_fatal = options_.on_spool_fatal;
  Result<std::unique_ptr<SpoolDisk>> opened = SpoolDisk::Open(std::move(spool));
  if (!opened.ok()) return opened.status().WithContext("--spool-dir " + options_.spool_dir);
  spool_disk_ = std::move(*opened);
  return Status::Ok();
}

ApiNode::ApiNode(ClusterConfig config, ApiNodeOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      config_(std::make_shared<const ClusterConfig>(std::move(config))),
      client_work_(client_context_.get_executor()) {
  reloads_applied_ = &metrics_.AddCounter("rt_api_config_reloads_total",
                                          "Config reloads by outcome", "outcome=\"applied\"");
  reloads_refused_ = &metrics_.AddCounter("rt_api_config_reloads_total",
                                          "Config reloads by outcome", "outcome=\"refused\"");
  generation_gauge_ = &metrics_.AddLabeledGauge(
      "rt_config_generation",
      "Configs applied since start (1: the start config), labelled with the running "
      "config's source hash");
  refused_gauge_ = &metrics_.AddLabeledGauge(
      "rt_config_refused",
      "1 while the last config offered was refused (labelled with its source hash), else 0");
  running_hash_ = options_.config_hash;
  {
    std::lock_guard lock(identity_mutex_);
    PublishIdentity();
  }
  RegisterProcessMetrics(metrics_);
  metrics_.AddCallbackGauge(
      "rt_api_protected_slice",
      "The last slice whose routing this node treats as fixed (data may be there)",
      [this] { return static_cast<double>(ProtectedSliceNow()); });
  {
    const auto start = config_.load();
    remembered_horizon_slice_ = ProtectedHorizonSlice(*start, *start, clock_.NowMillis());
  }
  keyer_ = std::make_unique<UserKeyer>(options_.secret);
  const WorkerKey worker_key = WorkerKey::Derive(options_.secret);
  signer_ = std::make_shared<const RequestSigner>(
      worker_key, options_.signing_clock != nullptr ? *options_.signing_clock : system_clock_);
  cache_ = std::make_unique<StatsCache>(std::chrono::milliseconds(config_.load()->cache_ttl_ms));
  http::ClientOptions read_options;
  read_options.request_timeout = options_.read_timeout;
  read_options.connect_timeout = options_.read_timeout;
  read_clients_ = std::make_unique<WorkerReadClients>(client_context_, read_options);
  fetcher_ =
      std::make_unique<SliceFetcher>(*read_clients_, *cache_, options_.read_timeout, signer_);

  ForwarderSetOptions forward;
  forward.node_id = options_.node_id;
  forward.key_id = worker_key.KeyId();
  forward.signer = signer_;
  if (!options_.spool_dir.empty()) {  // the disk is opened by Create, after this
    spool_fsync_seconds_ = &metrics_.AddHistogram(
        "rt_api_spool_fsync_seconds", "Group fsyncs of the spool (--spool-fsync), each");
    spool_torn_tails_ = &metrics_.AddCounter(
        "rt_api_spool_recovered_total",
        "Spool damage repaired at start-up: torn tails truncated, corrupt segments moved aside",
        "kind=\"torn_tail\"");
    spool_corrupt_segments_ = &metrics_.AddCounter(
        "rt_api_spool_recovered_total",
        "Spool damage repaired at start-up: torn tails truncated, corrupt segments moved aside",
        "kind=\"corrupt_segment\"");
    forward.open_spool = [this](const std::string& id, const std::string& stream_suffix) {
      return OpenFileSpool(id, stream_suffix);
    };
    forward.spool_fsync = options_.spool_fsync;
  }
  forward.on_fatal = options_.on_spool_fatal;
  if (!forward.on_fatal) {
    forward.on_fatal = [](const Status& status) {
      std::cerr << "rtctl serve-api: " << status.message() << "; exiting\n" << std::flush;
      std::exit(1);
    };
  }
  forward.queue_limit = options_.queue_limit;
  forward.batch_max = options_.batch_max;
  forward.linger = options_.linger;
  // Batch acks carry the touched slices' stats: they keep the cache fresh for free.
  forwarders_ = std::make_unique<ForwarderSet>(
      client_context_, forward, metrics_,
      [cache = cache_.get()](const std::string& worker, std::string_view stream,
                             const BatchAck& ack) {
        for (const auto& [slice, stats] : ack.slices) {
          if (stream.empty()) {
            cache->Put(worker, slice, stats);
          } else {
            cache->PutAcked(worker, slice, stats, stream, ack.acked_seq);
          }
        }
      });
  // Not ready once a queue is half full: a load balancer then has time to move
  // traffic away before POSTs get 503 (docs/http.md, /readyz).
  sink_ = std::make_unique<Sink>(*forwarders_, options_.queue_limit / 2);
  metrics_.AddCallbackCounter(
      "rt_api_cache_hits_total", "Stats cache lookups answered from memory",
      [cache = cache_.get()] { return static_cast<double>(cache->hits()); });
  metrics_.AddCallbackCounter(
      "rt_api_cache_misses_total", "Stats cache lookups that had to ask the worker",
      [cache = cache_.get()] { return static_cast<double>(cache->misses()); });
  metrics_.AddCallbackGauge("rt_api_cache_entries", "(worker, slice) entries in the stats cache",
                            [cache = cache_.get()] { return static_cast<double>(cache->size()); });

  handler_ =
      std::make_unique<ApiHandler>([this] { return config_.load(); }, *keyer_, clock_, *sink_,
                                   *fetcher_, metrics_, [this] { return ConfigRefusal(); });
  config_status_ = std::make_unique<ConfigStatus>(metrics_);
  handler_->SetHealthDetails(
      [this] { return config_status_->DownNote(); },
      [this](const std::optional<std::string>& why) { return HealthJson(why); });
  http::Router router;
  handler_->Register(router);
  http::ServerOptions server_options = options_.server;
  server_options.threads = options_.threads;
  server_ = std::make_unique<http::HttpServer>(std::move(router), server_options);
  metrics_.AddCallbackGauge("rt_http_connections_open", "Client connections open now",
                            [this] { return static_cast<double>(server_->OpenConnections()); });
  metrics_.AddCallbackCounter(
      "rt_http_connections_refused_total",
      "Connections closed at accept because --max-connections were open",
      [this] { return static_cast<double>(server_->RefusedConnections()); });
  client_thread_ = std::thread([this] { client_context_.run(); });
}

ApiNode::~ApiNode() { Stop(std::chrono::milliseconds(0)); }

Status ApiNode::Start() {
  const auto config = config_.load();
  if (spool_disk_) {
    if (Status status = forwarders_->AdoptSpools(spool_disk_->workers(), ReplicaSetsOf(*config));
        !status.ok()) {
      return status;
    }
  }
  if (Status status = forwarders_->SetWorkers(config->worker_nodes, ReplicaSetsOf(*config));
      !status.ok()) {
    return status;
  }
  for (const auto& [worker, events] : forwarders_->Orphans()) {
    std::cerr << "ERROR the spool holds " << events << " events for worker " << worker
              << ", which the config does not name; they are kept until a config lists it "
                 "again\n";
  }
  Result<NodeUrl> url = ParseNodeUrl(config->api_nodes.at(options_.node_id));
  if (!url.ok()) return url.status().WithContext("api node " + options_.node_id);
  const std::string host = options_.listen_host.value_or(url->host);
  const uint16_t port = options_.listen_port.value_or(url->port);
  if (Status status = server_->Listen(host == "localhost" ? "127.0.0.1" : host, port);
      !status.ok()) {
    return status;
  }
  server_->Start();
  return Status::Ok();
}

boost::asio::ip::tcp::endpoint ApiNode::LocalEndpoint() const { return server_->LocalEndpoint(); }

std::shared_ptr<const ClusterConfig> ApiNode::config() const { return config_.load(); }

void ApiNode::CountRefusedReload() { reloads_refused_->Inc(); }

void ApiNode::RefuseConfigSource(std::string source_hash, const std::string& why) {
  reloads_refused_->Inc();
  SetRefusal(std::move(source_hash), why);
}

void ApiNode::ConfirmConfigSource(std::string source_hash) {
  std::lock_guard lock(identity_mutex_);
  running_hash_ = std::move(source_hash);
  refused_hash_.reset();
  refusal_.clear();
  PublishIdentity();
}

std::optional<std::string> ApiNode::ConfigRefusal() const {
  std::lock_guard lock(identity_mutex_);
  if (!refused_hash_) return std::nullopt;
  return "config refused: " + refusal_ + "; running config " +
         (running_hash_.empty() ? std::string("(no hash)") : running_hash_);
}

void ApiNode::SetRefusal(std::optional<std::string> hash, const std::string& why) {
  std::lock_guard lock(identity_mutex_);
  refused_hash_ = std::move(hash);
  refusal_ = why.substr(0, why.find('\n'));
  PublishIdentity();
}

void ApiNode::PublishIdentity() {
  generation_gauge_->Set("hash=\"" + running_hash_ + "\"", generation_);
  if (refused_hash_) {
    refused_gauge_->Set("hash=\"" + *refused_hash_ + "\"", 1);
  } else {
    refused_gauge_->Set("hash=\"" + running_hash_ + "\"", 0);
  }
}

int64_t ApiNode::ProtectedSliceNow() const {
  const auto running = config_.load();
  SafeChangeContext context;
  context.held_through_slice = last_held_slice_.load();
  context.remembered_horizon_slice = remembered_horizon_slice_.load();
  return ProtectedSlice(*running, *running, clock_.NowMillis(), context);
}

namespace {

// The greatest slice any worker that `config` routes to holds (nullopt: none),
// waiting for every answer; an error naming the first worker that could not be
// asked. A worker listed in worker-nodes but in no routing entry is not asked: this
// config sent it nothing, and an operator may list a worker before starting it.
Result<std::optional<int64_t>> AskHeldThrough(SliceFetcher& fetcher, const ClusterConfig& config,
                                              std::chrono::milliseconds read_timeout) {
  ClusterConfig routed = config;
  std::erase_if(routed.worker_nodes, [&config](const auto& worker) {
    return std::none_of(
        config.routing.begin(), config.routing.end(),
        [&worker](const RoutingEntry& entry) { return HasMember(entry.nodes, worker.first); });
  });
  using Answer = std::pair<Status, std::optional<int64_t>>;
  auto promise = std::make_shared<std::promise<Answer>>();
  std::future<Answer> answer = promise->get_future();
  fetcher.FetchAllSlices(routed, [promise](Status status, std::map<int64_t, SliceStats> slices) {
    std::optional<int64_t> held;
    if (!slices.empty()) held = slices.rbegin()->first;
    promise->set_value({std::move(status), held});
  });
  // Every request has the read timeout; the margin only guards against a lost callback.
  if (answer.wait_for(2 * read_timeout + std::chrono::seconds(1)) != std::future_status::ready) {
    return Status::Unavailable("the workers did not answer in time");
  }
  Answer result = answer.get();
  if (!result.first.ok()) return result.first;
  return result.second;
}

}  // namespace

Status ApiNode::ReplaceConfig(ClusterConfig next, std::string source_hash) {
  std::lock_guard lock(reload_mutex_);
  auto refuse = [this, &source_hash](std::string why) {
    reloads_refused_->Inc();
    SetRefusal(source_hash, why);
    return Status::InvalidArgument(std::move(why));
  };
  const std::vector<ConfigProblem> problems = ValidateClusterConfig(next);
  if (HasErrors(problems)) {
    for (const ConfigProblem& p : problems) {
      if (p.is_error()) return refuse("invalid config: " + FormatProblem("config", p));
    }
  }
  if (next.api_nodes.find(options_.node_id) == next.api_nodes.end()) {
    return refuse("the new config does not list this node (" + options_.node_id + ")");
  }
  const auto running = config_.load();
  const Result<std::optional<int64_t>> held =
      AskHeldThrough(*fetcher_, *running, options_.read_timeout);
  if (!held.ok()) {
    return refuse("cannot ask the workers which slices they hold: " + held.status().message());
  }
  if (*held) last_held_slice_ = std::max(last_held_slice_.load(), **held);
  const int64_t now_ms = clock_.NowMillis();
  SafeChangeContext context;
  context.held_through_slice = *held;
  context.remembered_horizon_slice = remembered_horizon_slice_.load();
  const std::vector<UnsafeChange> unsafe = CheckSafeChange(*running, next, now_ms, context);
  if (!unsafe.empty()) {
    std::string why = "unsafe change: " + unsafe.front().message;
    if (unsafe.size() > 1) why += " (and " + std::to_string(unsafe.size() - 1) + " more)";
    return refuse(why);
  }
  if (Status status = forwarders_->SetWorkers(next.worker_nodes, ReplicaSetsOf(next));
      !status.ok()) {
    return refuse(status.message());
  }
  auto snapshot = std::make_shared<const ClusterConfig>(std::move(next));
  cache_->SetTtl(std::chrono::milliseconds(snapshot->cache_ttl_ms));
  // Whatever the running config let in until now stays protected after it is gone.
  remembered_horizon_slice_ =
      std::max(remembered_horizon_slice_.load(), ProtectedHorizonSlice(*running, *running, now_ms));
  config_.store(std::move(snapshot));
  reloads_applied_->Inc();
  {
    std::lock_guard identity_lock(identity_mutex_);
    running_hash_ = std::move(source_hash);
    ++generation_;
    refused_hash_.reset();
    refusal_.clear();
    PublishIdentity();
  }
  return Status::Ok();
}

Result<std::shared_ptr<EventSpool>> ApiNode::OpenFileSpool(const std::string& id,
                                                           const std::string& stream_suffix) {
  SpoolRecoveryReport report;
  Result<std::unique_ptr<FileSpool>> spool = FileSpool::Open(
      *spool_disk_, id,
      [this, stream_suffix] { return NewStreamId(options_.node_id) + stream_suffix; }, report);
  for (const std::string& line : report.messages) {
    std::cerr << "rt-api[" << options_.node_id << "]: spool: " << line << "\n";
  }
  spool_torn_tails_->Inc(report.torn_tails);
  spool_corrupt_segments_->Inc(report.corrupt_segments);
  if (!spool.ok()) return spool.status();
  return std::shared_ptr<EventSpool>(std::move(*spool));
}

uint64_t ApiNode::Stop(std::chrono::milliseconds drain_timeout) {
  if (stopped_) return 0;
  stopped_ = true;
  server_->Stop();
  const uint64_t undelivered = forwarders_->Drain(std::chrono::steady_clock::now() + drain_timeout);
  forwarders_->Shutdown();
  client_work_.reset();
  client_context_.stop();
  if (client_thread_.joinable()) client_thread_.join();
  // --spool-fsync: a POST's 202 waits in its spool for a group sync, and the
  // callback refers to the handler and the server's session. Run them now, while
  // both exist: the disk thread or a FileSpool's destructor would run them after
  // the members are gone (the handler is destroyed first).
  forwarders_->SettleSpools();
  return undelivered;
}

uint64_t ApiNode::SpooledEvents() const { return forwarders_->SpooledEvents(); }

void ApiNode::Crash() {
  if (stopped_) return;
  stopped_ = true;
  // The order is that of the threads that could still promise something: first the
  // server (no more 202s), then the forwarders' thread, then the spool's.
  server_->Abort();
  client_work_.reset();
  client_context_.stop();
  if (client_thread_.joinable()) client_thread_.join();
  if (spool_disk_) spool_disk_->Abandon();
  forwarders_->SettleSpools();  // drops the 202s waiting for a sync (see Stop)
}

}  // namespace rt
