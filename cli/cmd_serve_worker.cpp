// rtctl serve-worker --config FILE --node ID --data-dir DIR [--fsync] [--threads N]
// [--listen HOST:PORT] [--strict] [--worker-key-file F]: runs one worker node until
// SIGINT/SIGTERM
// (docs/design.md §3 "Exactly-once streams and the worker protocol", §7 "Store
// records"). Config warnings are logged one line each at start; --strict refuses a
// config with an unknown key.
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
  std::string worker_key_file;
};

int Fail(const std::string& message) {
  std::cerr << "rtctl serve-worker: " << message << "\n";
  return kExitFailure;
}

// The listen address: --listen, or host and port of the node's URL in the config.
Result<ListenAddress> ListenAddressOf(const ServeWorkerOptions& options) {
  const NodeConfig loaded =
      LoadNodeConfig(options.config, SystemClock().NowMillis(), options.strict);
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
  const Result<ListenAddress> listen = ListenAddressOf(options);
  if (!listen.ok()) return Fail(listen.status().message());
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
  node_options.listen_host = listen->host;
  node_options.listen_port = listen->port;
  node_options.server.threads = options.threads;
  node_options.worker_key = **key;
  Result<std::unique_ptr<WorkerNode>> node = WorkerNode::Start(node_options);
  if (!node.ok()) return Fail(node.status().message());

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
  sub->add_option("--worker-key-file", options->worker_key_file,
                  "File holding the worker key (rtctl worker-key), mode 0600 (else env "
                  "RT_WORKER_KEY); required");
  sub->add_flag("--strict", options->strict,
                "Refuse to start on a config with an unknown key (without it, each unknown "
                "key is logged as a warning)");
  return [options] { return RunServeWorker(*options); };
}

}  // namespace rt::cli
