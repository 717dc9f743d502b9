// rtctl serve-worker --config FILE --node ID --data-dir DIR [--fsync] [--threads N]
// [--listen HOST:PORT] [--strict]: runs one worker node until SIGINT/SIGTERM
// (docs/design.md §3 "Exactly-once streams and the worker protocol", §7 "Store
// records"). Config warnings are logged one line each at start; --strict refuses a
// config with an unknown key.
#include <iostream>
#include <memory>
#include <string>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/listen_address.h"
#include "cli/node_config.h"
#include "config/node_url.h"
#include "server/http/stop_signal.h"
#include "server/worker/worker_node.h"

namespace rt::cli {
namespace {

struct ServeWorkerOptions {
  std::string config;
  std::string node;
  std::string data_dir;
  bool fsync = false;
  int threads = 0;
  std::string listen;
  bool strict = false;
};

int Fail(const std::string& message) {
  std::cerr << "rtctl serve-worker: " << message << "\n";
  return kExitFailure;
}

// The listen address: --listen, or host and port of the node's URL in the config;
// `config_hash` gets the config file's ConfigSourceHash.
Result<ListenAddress> ListenAddressOf(const ServeWorkerOptions& options, std::string& config_hash) {
  const NodeConfig loaded =
      LoadNodeConfig(options.config, SystemClock().NowMillis(), options.strict);
  config_hash = loaded.hash;
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
  if (!options.listen.empty()) return ParseListenAddress(options.listen);
  const Result<NodeUrl> url = ParseNodeUrl(it->second);
  if (!url.ok()) return url.status().WithContext("worker-nodes." + options.node);
  return ListenAddress{url->host, url->port};
}

int RunServeWorker(const ServeWorkerOptions& options) {
  std::string config_hash;
  const Result<ListenAddress> listen = ListenAddressOf(options, config_hash);
  if (!listen.ok()) return Fail(listen.status().message());

  WorkerNodeOptions node_options;
  node_options.data_dir = options.data_dir;
  node_options.fsync = options.fsync;
  node_options.listen_host = listen->host;
  node_options.listen_port = listen->port;
  node_options.server.threads = options.threads;
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

  http::AnnounceAndWaitForStopSignal((*node)->endpoint());
  (*node)->Stop();
  return kExitOk;
}

}  // namespace

CommandRunner SetupServeWorker(CLI::App& app) {
  auto options = std::make_shared<ServeWorkerOptions>();
  CLI::App* sub = app.add_subcommand("serve-worker", "Run a worker node");
  sub->add_option("--config", options->config, "Cluster config file")->required();
  sub->add_option("--node", options->node, "This worker's id in worker-nodes")->required();
  sub->add_option("--data-dir", options->data_dir, "Directory of the Kyoto Cabinet store")
      ->required();
  sub->add_flag("--fsync", options->fsync,
                "Acknowledge a batch only once it survives power loss (group commit)");
  sub->add_option("--threads", options->threads, "I/O threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--listen", options->listen,
                  "HOST:PORT to listen on instead of the node's URL (port 0: any free port)");
  sub->add_flag("--strict", options->strict,
                "Refuse to start on a config with an unknown key (without it, each unknown "
                "key is logged as a warning)");
  return [options] { return RunServeWorker(*options); };
}

}  // namespace rt::cli
