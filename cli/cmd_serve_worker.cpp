// rtctl serve-worker --config FILE --node ID --data-dir DIR [--fsync] [--threads N]
// [--listen HOST:PORT] [--strict] [--worker-key-file F] [--max-queued-events N] [--no-read-ahead]
// [--max-connections N]: runs one worker node until SIGINT/SIGTERM (docs/design.md §3
// "Exactly-once streams and the worker protocol", §7 "Store records"). SIGHUP is
// logged and otherwise ignored: a worker reads a config file only at start; a config
// in etcd is watched, and each change that keeps the slice geometry becomes the
// running revision (rt_config_revision). Config
// warnings are logged one line each at start; --strict refuses a config with an
// unknown key.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/listen_address.h"
#include "cli/node_config.h"
#include "cli/secret.h"
#include "config/node_url.h"
#include "config/source/config_location.h"
#include "config/source/config_watcher.h"
#include "config/source/etcd_client.h"
#include "server/http/stop_signal.h"
#include "server/worker/worker_node.h"

namespace rt::cli {
namespace {

struct ServeWorkerOptions {
  std::string config;
  std::string node;
  std::string data_dir;
  bool fsync = false;
  bool no_read_ahead = false;
  int threads = 0;
  std::string listen;
  bool strict = false;
  size_t max_queued_events = BatchWriter::kDefaultMaxQueuedEvents;
  size_t max_connections = 0;  // 0: from the descriptor limit
  std::string worker_key_file;
  int64_t retain_slices = -1;  // -1: keep counts forever
};

void Log(const ServeWorkerOptions& options, const std::string& line) {
  std::cerr << "rt-worker[" << options.node << "]: " << line << std::endl;
}

int Fail(const std::string& message) {
  std::cerr << "rtctl serve-worker: " << message << "\n";
  return kExitFailure;
}

// What serve-worker takes from the cluster config.
struct WorkerSetup {
  ListenAddress listen;
  SliceGeometry geometry;
  int64_t revision = 0;  // the etcd revision read (0 for a file)
  int64_t seal_after_slices = -1;
};

// Slices older than this many are sealed (docs/design.md §7 "Store records"): the API
// nodes refuse POSTs older than max-late-slices, and as much again plus two slices
// is left for events accepted in time but delayed on the way (an API node's retries
// and spool, a worker restart). Never with max-late-slices null, nor with
// "first-slice": "system", whose slice numbers the worker cannot know.
int64_t SealAfterSlices(const ClusterConfig& config) {
  if (!config.max_late_slices || config.first_slice_is_system) return -1;
  return 2 * *config.max_late_slices + 2;
}

// The slice geometry the worker judges slice numbers with (SliceRange). With
// "first-slice": "system" the API nodes' first slice is their own process start,
// which the worker cannot know; it is not before the epoch, so the range is taken
// from there: loose, but still a bound.
SliceGeometry GeometryOf(const ClusterConfig& config) {
  SliceGeometry geometry;
  geometry.first_slice_s = config.first_slice_is_system ? 0 : config.first_slice_s;
  geometry.slice_length_s = config.slice_length_s;
  geometry.max_future_s = config.max_future_s;
  return geometry;
}

// The listen address (--listen, or host and port of the node's URL in the config)
// and the slice geometry; `config_hash` gets the config file's ConfigSourceHash.
Result<WorkerSetup> SetupOf(const ServeWorkerOptions& options, std::string& config_hash) {
  const NodeConfig loaded =
      LoadNodeConfig(options.config, SystemClock().NowMillis(), options.strict);
  config_hash = loaded.hash;
  const int64_t revision = loaded.revision;
  for (const ConfigProblem& warning : loaded.warnings) {
    std::cerr << "rt-worker[" << options.node
              << "]: " << FormatConfigWarning(options.config, warning) << std::endl;
  }
  const Result<ClusterConfig>& config = loaded.config;
  if (!config.ok()) return config.status();
  const auto it = config->worker_nodes.find(options.node);
  if (it == config->worker_nodes.end()) {
    return Status::InvalidArgument("node \"" + options.node + "\" is not in worker-nodes of " +
                                   options.config);
  }
  if (!options.listen.empty()) {
    Result<ListenAddress> listen = ParseListenAddress(options.listen);
    if (!listen.ok()) return listen.status();
    return WorkerSetup{*listen, GeometryOf(*config), revision, SealAfterSlices(*config)};
  }
  const Result<NodeUrl> url = ParseNodeUrl(it->second);
  if (!url.ok()) return url.status().WithContext("worker-nodes." + options.node);
  return WorkerSetup{ListenAddress{url->host, url->port}, GeometryOf(*config), revision,
                     SealAfterSlices(*config)};
}

// A watched etcd change (docs/design.md §5 "Config and the safe-change rule"): the
// worker takes from its config only the slice geometry, which must never change,
// and its own address, which it cannot change while running. A valid change that
// keeps both becomes the running revision; anything else is refused (logged, and
// the revision stays), like a bad file on an API node's reload.
void OnConfigChange(const ServeWorkerOptions& options, WorkerNode& node,
                    const SliceGeometry& running, const EtcdEvent& event) {
  const std::string revision = std::to_string(event.mod_revision);
  if (event.deleted) {
    Log(options, "config key deleted at revision " + revision + "; keeping the running config");
    return;
  }
  const NodeConfig loaded = NodeConfigFromText(options.config, event.value, event.mod_revision,
                                               SystemClock().NowMillis(), options.strict);
  const Result<ClusterConfig>& config = loaded.config;
  std::string refusal;
  if (!config.ok()) {
    refusal = config.status().message();
  } else if (!config->worker_nodes.contains(options.node)) {
    refusal = "node \"" + options.node + "\" is no longer in worker-nodes";
  } else {
    const SliceGeometry next = GeometryOf(*config);
    if (next.first_slice_s != running.first_slice_s ||
        next.slice_length_s != running.slice_length_s) {
      refusal = "first-slice or length-of-time-slice changed; they must never change";
    }
  }
  if (!refusal.empty()) {
    Log(options,
        "config revision " + revision + " refused, keeping the running config: " + refusal);
    return;
  }
  node.config_status().SetRunning(event.mod_revision, loaded.hash);
  Log(options, "config revision " + revision + " applied hash=" + loaded.hash);
}

int RunServeWorker(const ServeWorkerOptions& options) {
  std::string config_hash;
  const Result<WorkerSetup> setup = SetupOf(options, config_hash);
  if (!setup.ok()) return Fail(setup.status().message());
  Result<std::optional<WorkerKey>> key = ReadWorkerKey(options.worker_key_file);
  if (!key.ok()) return Fail(key.status().message());
  if (!*key) {
    return Fail(
        "no worker key: pass --worker-key-file F (mode 0600) or set RT_WORKER_KEY; print it "
        "from the cluster secret with rtctl worker-key");
  }

  WorkerNodeOptions node_options;
  node_options.data_dir = options.data_dir;
  node_options.fsync = options.fsync;
  node_options.read_ahead = !options.no_read_ahead;
  node_options.listen_host = setup->listen.host;
  node_options.listen_port = setup->listen.port;
  node_options.server.threads = options.threads;
  node_options.max_queued_events = options.max_queued_events;
  node_options.server.max_connections = options.max_connections;
  node_options.slice_geometry = setup->geometry;
  node_options.seal_after_slices = setup->seal_after_slices;
  node_options.retain_slices = options.retain_slices;
  if (options.retain_slices >= 0 && setup->seal_after_slices < 0) {
    Log(options,
        "--retain-slices has no effect: slices are never sealed (max-late-slices is "
        "null or first-slice is \"system\")");
  }
  node_options.worker_key = **key;
  node_options.node_id = options.node;
  Result<std::unique_ptr<WorkerNode>> node = WorkerNode::Start(node_options);
  if (!node.ok()) return Fail(node.status().message());
  // The worker reads its config once, at start: generation 1, so that every node's
  // config can be compared on /metrics (docs/design.md §5 "Config and the
  // safe-change rule").
  (*node)
      ->metrics()
      .AddLabeledGauge("rt_config_generation",
                       "Configs applied since start (1: the start config), labelled with the "
                       "running config's source hash")
      .Set("hash=\"" + config_hash + "\"", 1);

  const Result<ConfigLocation> location = ParseConfigLocation(options.config);
  (*node)->config_status().SetSource(location->is_etcd() ? "etcd" : "file", options.config);
  (*node)->config_status().SetRunning(setup->revision, config_hash);
  std::optional<EtcdClient> etcd;
  std::unique_ptr<ConfigWatcher> watcher;
  if (location->is_etcd()) {
    etcd.emplace(location->endpoints);
    watcher = std::make_unique<ConfigWatcher>(
        *etcd, location->key, setup->revision,
        [&options, &node, geometry = setup->geometry](const EtcdEvent& event) {
          OnConfigChange(options, **node, geometry, event);
        },
        [&options, &node](bool up, const std::string& why) {
          (*node)->config_status().SetSourceUp(up, why);
          Log(options, up ? "config source " + options.config + " reachable again; watching"
                          : "config source unreachable, keeping the running config: " + why);
        });
  }

  // Operators send SIGHUP to every node of a cluster after editing its config; the
  // API nodes reload, a worker has nothing to reload and must not die of it.
  http::AnnounceAndWaitForStopSignal((*node)->endpoint(), [&options] {
    Log(options,
        "SIGHUP ignored: workers read their config only at start; restart to apply "
        "changes");
  });
  watcher.reset();
  Log(options, "stopping: finishing queued writes, closing the store in " + options.data_dir);
  (*node)->Stop();
  Log(options, "stopped");
  return kExitOk;
}

}  // namespace

CommandRunner SetupServeWorker(CLI::App& app) {
  auto options = std::make_shared<ServeWorkerOptions>();
  CLI::App* sub = app.add_subcommand("serve-worker", "Run a worker node");
  sub->add_option("--config", options->config,
                  "Cluster config: a file, or etcd://HOST:PORT[,HOST:PORT...]/KEY (watched)")
      ->required();
  sub->add_option("--node", options->node, "This worker's id in worker-nodes")->required();
  sub->add_option("--data-dir", options->data_dir, "Directory of the Kyoto Cabinet store")
      ->required();
  sub->add_flag("--fsync", options->fsync,
                "Acknowledge a batch only once it survives power loss (group commit)");
  sub->add_flag("--no-read-ahead", options->no_read_ahead,
                "Do not prefetch Kyoto buckets through Kyoto's private file layout (ingest "
                "is slower; for a Kyoto release the layout checks do not know anyway)");
  sub->add_option("--threads", options->threads, "I/O threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--listen", options->listen,
                  "HOST:PORT to listen on instead of the node's URL (port 0: any free port)");
  sub->add_option("--worker-key-file", options->worker_key_file,
                  "File holding the worker key (rtctl worker-key), mode 0600 (else env "
                  "RT_WORKER_KEY); required");
  sub->add_option("--max-queued-events", options->max_queued_events,
                  "Events waiting for the store before writes get 503 + Retry-After "
                  "(~75 bytes each)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-connections", options->max_connections,
                  "Open client connections at most; beyond, a new one gets 503 and is closed "
                  "(default: the soft descriptor limit less 128 + 10%, for Kyoto, worker "
                  "connections and logs)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--retain-slices", options->retain_slices,
                  "Drop the counts of slices older than this many (only once sealed; default: "
                  "keep forever)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--strict", options->strict,
                "Refuse to start on a config with an unknown key (without it, each unknown "
                "key is logged as a warning)");
  return [options] { return RunServeWorker(*options); };
}

}  // namespace rt::cli
