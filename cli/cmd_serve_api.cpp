// rtctl serve-api: runs one API node of the cluster config until SIGINT/SIGTERM;
// reloads a config file every reload-interval-s and on SIGHUP, and applies each
// change of a config in etcd as it is written (a watch; SIGHUP re-reads). Config
// warnings (an unknown key with its did-you-mean hint) are logged one line each at
// start and whenever they change on reload; --strict refuses a config with an
// unknown key.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/byte_size.h"
#include "cli/commands.h"
#include "cli/listen_address.h"
#include "cli/node_config.h"
#include "cli/secret.h"
#include "config/config_diff.h"
#include "config/source/config_location.h"
#include "config/source/config_watcher.h"
#include "config/source/etcd_client.h"
#include "server/api/api_node.h"
#include "server/http/stop_signal.h"

namespace rt::cli {
namespace {

struct ServeApiOptions {
  std::string config_path;
  std::string node_id;
  std::string secret_file;
  std::string listen;
  int threads = 0;
  size_t queue_limit = 1'000'000;
  size_t batch_max = 4096;
  int linger_ms = 2;
  int drain_timeout_s = 10;
  bool strict = false;
  size_t max_connections = 0;  // 0: from the descriptor limit
  std::string spool_dir;       // empty: no spool, events wait in memory
  bool spool_fsync = false;
  std::string spool_max_bytes;      // ParseByteSize; empty: the default
  std::string spool_segment_bytes;  // ParseByteSize; empty: the default
};

void Log(const ServeApiOptions& options, const std::string& line) {
  std::cerr << "rt-api[" << options.node_id << "]: " << line << std::endl;
}

// What the reload loop has logged, so that a reload every few seconds does not
// repeat itself: the config warnings last logged, and the last refusal.
struct ReloadLog {
  std::vector<ConfigProblem> warnings;
  std::string refusal;
  // The newest etcd revision handled: a watched change and a re-read (SIGHUP) may
  // arrive out of order, and an older revision must not replace a newer one.
  int64_t revision = 0;
};

// Logs each warning of the config file as one line, unless they are the ones logged
// last time.
void LogWarnings(const ServeApiOptions& options, const std::vector<ConfigProblem>& warnings,
                 ReloadLog& logged) {
  if (warnings == logged.warnings) return;
  for (const ConfigProblem& warning : warnings) {
    Log(options, FormatConfigWarning(options.config_path, warning));
  }
  logged.warnings = warnings;
}

// One line per refusal, and not again while the same file is refused for the same
// reason (each attempt is still counted in rt_api_config_reloads_total).
void LogRefusal(const ServeApiOptions& options, const std::string& why, ReloadLog& logged) {
  if (why == logged.refusal) return;
  Log(options, "config reload refused, keeping the running config: " + why);
  logged.refusal = why;
}

// Re-reads the config file and hands it to the node, which applies it only if it
// validates and is a safe change; one log line either way (none when unchanged). A
// refused file leaves the node unhealthy until the file is accepted or holds the
// running config again (ApiNode::ConfigRefusal).
void Apply(const ServeApiOptions& options, ApiNode& node, NodeConfig loaded, ReloadLog& logged) {
  if (loaded.revision > 0) {
    if (loaded.revision <= logged.revision) return;
    logged.revision = loaded.revision;
  }
  LogWarnings(options, loaded.warnings, logged);
  Result<ClusterConfig>& next = loaded.config;
  if (!next.ok()) {
    node.RefuseConfigSource(loaded.hash, next.status().message());
    LogRefusal(options, next.status().message(), logged);
    return;
  }
  const std::shared_ptr<const ClusterConfig> running = node.config();
  if (*next == *running) {
    node.ConfirmConfigSource(loaded.hash);
    node.config_status().SetRunning(loaded.revision, loaded.hash);
    // The file that was refused holds the running config again: say that the
    // refusal (and the 503 on /healthz) is over.
    if (!logged.refusal.empty()) {
      Log(options,
          "config file " + options.config_path +
              " holds the running config again: in sync, no longer refused hash=" + loaded.hash);
    }
    logged.refusal.clear();
    return;
  }
  if (Status status = node.ReplaceConfig(std::move(*next), loaded.hash); !status.ok()) {
    LogRefusal(options, status.message(), logged);
    return;
  }
  logged.refusal.clear();
  node.config_status().SetRunning(loaded.revision, loaded.hash);
  Log(options, "config reloaded from " + options.config_path + " hash=" + loaded.hash +
                   (loaded.revision > 0 ? " revision=" + std::to_string(loaded.revision) : "") +
                   " " + DescribeConfigChange(*running, *node.config()));
}

// Re-reads the config source and applies it (Apply). An etcd that does not answer
// is not a refusal: the node keeps its config, the watcher reports the source down.
void Reload(const ServeApiOptions& options, ApiNode& node, int64_t process_start_ms,
            ReloadLog& logged) {
  NodeConfig loaded = LoadNodeConfig(options.config_path, process_start_ms, options.strict);
  if (loaded.read_status.code() == Status::Code::kUnavailable) {
    Log(options,
        "config source unreachable, keeping the running config: " + loaded.read_status.message());
    return;
  }
  Apply(options, node, std::move(loaded), logged);
}

// An etcd config location is watched (docs/design.md §5 "Config and the safe-change
// rule"): each change is applied on the control thread as a reload would, and the
// source's reachability is logged once per change and shown on /healthz and
// rt_config_source_up. Null for a file.
std::unique_ptr<ConfigWatcher> WatchConfig(const ServeApiOptions& options,
                                           const ConfigLocation& location, const EtcdClient& client,
                                           int64_t read_revision, boost::asio::io_context& control,
                                           ApiNode& node, int64_t process_start_ms,
                                           ReloadLog& logged) {
  return std::make_unique<ConfigWatcher>(
      client, location.key, read_revision,
      [&options, &control, &node, &logged, process_start_ms](const EtcdEvent& event) {
        boost::asio::post(control, [&options, &node, &logged, process_start_ms, event] {
          if (event.deleted) {
            node.RefuseConfigSource(
                "", "config key deleted at revision " + std::to_string(event.mod_revision));
            LogRefusal(options, "config key deleted", logged);
            return;
          }
          Apply(options, node,
                NodeConfigFromText(options.config_path, event.value, event.mod_revision,
                                   process_start_ms, options.strict),
                logged);
        });
      },
      [&options, &node](bool up, const std::string& why) {
        node.config_status().SetSourceUp(up, why);
        Log(options, up ? "config source " + options.config_path + " reachable again; watching"
                        : "config source unreachable, keeping the running config: " + why);
      });
}

int RunServeApi(const ServeApiOptions& options) {
  SystemClock clock;
  const int64_t process_start_ms = clock.NowMillis();
  NodeConfig loaded = LoadNodeConfig(options.config_path, process_start_ms, options.strict);
  ReloadLog logged;
  LogWarnings(options, loaded.warnings, logged);
  Result<ClusterConfig>& config = loaded.config;
  if (!config.ok()) {
    std::cerr << "rtctl serve-api: " << config.status().message() << "\n";
    return kExitFailure;
  }
  ApiNodeOptions node_options;
  if (options.spool_dir.empty() && (options.spool_fsync || !options.spool_max_bytes.empty() ||
                                    !options.spool_segment_bytes.empty())) {
    std::cerr << "rtctl serve-api: "
              << (options.spool_fsync                ? "--spool-fsync"
                  : !options.spool_max_bytes.empty() ? "--spool-max-bytes"
                                                     : "--spool-segment-bytes")
              << " needs --spool-dir (see --help)\n";
    return kExitUsage;
  }
  if (!options.spool_segment_bytes.empty()) {
    Result<uint64_t> bytes = ParseByteSize(options.spool_segment_bytes);
    if (!bytes.ok()) {
      std::cerr << "rtctl serve-api: --spool-segment-bytes: " << bytes.status().message() << "\n";
      return kExitUsage;
    }
    node_options.spool_segment_bytes = static_cast<size_t>(*bytes);  // bounds: SpoolDisk::Open
  }
  if (!options.spool_max_bytes.empty()) {
    Result<uint64_t> bytes = ParseByteSize(options.spool_max_bytes);
    if (!bytes.ok()) {
      std::cerr << "rtctl serve-api: --spool-max-bytes: " << bytes.status().message() << "\n";
      return kExitUsage;
    }
    node_options.spool_max_bytes = *bytes;
  }
  node_options.spool_dir = options.spool_dir;
  node_options.spool_fsync = options.spool_fsync;
  node_options.on_spool_fatal = [node_id = options.node_id](const Status& status) {
    // A 202 from now on could be a lie: stop at once, the spool keeps what it has.
    std::cerr << "rt-api[" << node_id << "]: fatal: " << status.message() << "; exiting\n"
              << std::flush;
    std::_Exit(kExitFailure);
  };
  node_options.node_id = options.node_id;
  node_options.config_hash = loaded.hash;
  node_options.threads = options.threads;
  node_options.queue_limit = options.queue_limit;
  node_options.batch_max = options.batch_max;
  node_options.linger = std::chrono::milliseconds(options.linger_ms);
  node_options.server.max_connections = options.max_connections;
  if (!options.listen.empty()) {
    Result<ListenAddress> listen = ParseListenAddress(options.listen);
    if (!listen.ok()) {
      std::cerr << "rtctl serve-api: --listen: " << listen.status().message() << "\n";
      return kExitUsage;
    }
    node_options.listen_host = listen->host;
    node_options.listen_port = listen->port;
  }
  Result<std::optional<std::string>> secret = ReadSecret(options.secret_file);
  if (!secret.ok()) {
    std::cerr << "rtctl serve-api: " << secret.status().message() << "\n";
    return kExitFailure;
  }
  if (!*secret) {
    std::cerr << "rtctl serve-api: no cluster secret: pass --secret-file F (mode 0600) or set "
                 "RT_SECRET (at least "
              << kMinSecretBytes << " bytes); give the workers its worker key (rtctl worker-key)\n";
    return kExitFailure;
  }
  node_options.secret = std::move(**secret);
  Result<std::unique_ptr<ApiNode>> node =
      ApiNode::Create(std::move(*config), std::move(node_options), clock);
  if (!node.ok()) {
    std::cerr << "rtctl serve-api: " << node.status().message() << "\n";
    return kExitFailure;
  }
  if (Status status = (*node)->Start(); !status.ok()) {
    std::cerr << "rtctl serve-api: " << status.message() << "\n";
    return kExitFailure;
  }
  const Result<ConfigLocation> location = ParseConfigLocation(options.config_path);
  (*node)->config_status().SetSource(location->is_etcd() ? "etcd" : "file", options.config_path);
  (*node)->config_status().SetRunning(loaded.revision, loaded.hash);
  logged.revision = loaded.revision;

  // Signals and the reload timer on a context of their own; the handlers are in
  // place before the ready line so a signal right after it is never fatal.
  boost::asio::io_context control(1);
  boost::asio::signal_set stop_signals(control, SIGINT, SIGTERM);
  boost::asio::signal_set reload_signal(control, SIGHUP);
  boost::asio::steady_timer reload_timer(control);
  stop_signals.async_wait([&](const boost::system::error_code&, int) { control.stop(); });
  // The periodic reload waits the running config's interval: the safe-change horizon
  // assumes every node reloads within it, so a reload that shortens it re-arms the
  // timer at once (docs/design.md §5 "Config and the safe-change rule").
  int64_t armed_interval_s = 0;
  std::function<void()> arm_timer = [&] {
    armed_interval_s = (*node)->config()->reload_interval_s;
    reload_timer.expires_after(std::chrono::seconds(armed_interval_s));  // cancels a wait
    reload_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      Reload(options, **node, process_start_ms, logged);
      arm_timer();
    });
  };
  std::function<void()> wait_hup = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      Reload(options, **node, process_start_ms, logged);
      if ((*node)->config()->reload_interval_s != armed_interval_s) arm_timer();
      wait_hup();
    });
  };
  wait_hup();
  std::optional<EtcdClient> etcd;
  std::unique_ptr<ConfigWatcher> watcher;
  if (location->is_etcd()) {
    // Watched instead of re-read every reload-interval-s; SIGHUP still re-reads.
    etcd.emplace(location->endpoints);
    watcher = WatchConfig(options, *location, *etcd, loaded.revision, control, **node,
                          process_start_ms, logged);
  } else {
    arm_timer();
  }
  std::printf("listening on %s\n", http::FormatEndpoint((*node)->LocalEndpoint()).c_str());
  std::fflush(stdout);
  control.run();
  watcher.reset();  // before the node: it posts to control, which no longer runs

  Log(options, "stopping: draining forwarding queues (up to " +
                   std::to_string(options.drain_timeout_s) + " s)");
  const uint64_t undelivered = (*node)->Stop(std::chrono::seconds(options.drain_timeout_s));
  if (undelivered > 0 && !options.spool_dir.empty()) {
    // Not lost: the next start on the same --spool-dir resumes the streams.
    Log(options, "stopped; " + std::to_string(undelivered) +
                     " accepted events not yet delivered stay in the spool " + options.spool_dir +
                     " and are sent after the next start");
    return kExitOk;
  }
  if (undelivered > 0) {
    Log(options, "stopped with " + std::to_string(undelivered) +
                     " accepted events NOT delivered to their workers");
    return kExitFailure;
  }
  Log(options, "stopped; every accepted event was delivered");
  return kExitOk;
}

}  // namespace

CommandRunner SetupServeApi(CLI::App& app) {
  auto options = std::make_shared<ServeApiOptions>();
  CLI::App* sub = app.add_subcommand("serve-api", "Run an API node of the cluster");
  sub->add_option("--config", options->config_path,
                  "Cluster config: a file, or etcd://HOST:PORT[,HOST:PORT...]/KEY (watched)")
      ->required();
  sub->add_option("--node", options->node_id, "This node's id among the config's api-nodes")
      ->required();
  sub->add_option("--secret-file", options->secret_file,
                  "File holding the cluster secret, mode 0600, at least 16 bytes (else env "
                  "RT_SECRET); required");
  sub->add_option("--threads", options->threads, "I/O threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--listen", options->listen,
                  "HOST:PORT to listen on instead of the node's URL (port 0: any)");
  sub->add_option("--queue-limit", options->queue_limit,
                  "Events queued per worker before POSTs get 503")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch-max", options->batch_max, "Events per batch to a worker")
      ->check(CLI::PositiveNumber);
  sub->add_option("--linger-ms", options->linger_ms, "Flush a partial batch after this")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--drain-timeout-s", options->drain_timeout_s,
                  "On SIGTERM, how long to wait for queued events to be delivered")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-connections", options->max_connections,
                  "Open client connections at most; beyond, a new one gets 503 and is closed "
                  "(default: the soft descriptor limit less 128 + 10%, for Kyoto, worker "
                  "connections and logs)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--spool-dir", options->spool_dir,
                  "Write every accepted event to a spool in this directory before its 202, so "
                  "that a killed node loses nothing (default: none, events wait in memory)");
  sub->add_flag("--spool-fsync", options->spool_fsync,
                "With --spool-dir: answer 202 only after a group fsync of the spool (a power "
                "cut loses nothing)");
  sub->add_option("--spool-max-bytes", options->spool_max_bytes,
                  "With --spool-dir: the spool's files at most (bytes, or K/M/G/KiB/MiB/GiB); "
                  "beyond, POSTs for a backlogged worker get 503 (default 8GiB)");
  sub->add_option("--spool-segment-bytes", options->spool_segment_bytes,
                  "With --spool-dir: size of each preallocated spool segment file, a multiple "
                  "of 4KiB from 4KiB to 8MiB (default 4MiB; small values are for tests)");
  sub->add_flag("--strict", options->strict,
                "Refuse a config with an unknown key: exit 1 at start, keep the running "
                "config on reload (without it, each unknown key is logged as a warning)");
  return [options] { return RunServeApi(*options); };
}

}  // namespace rt::cli
