// rtctl reseed-worker --config LOC --node ID --data-dir DIR --from PEER_ID
// [--worker-key-file F]: gives a replica member that lost its disk (or is stale) a
// new data dir, copied from a live member of the same set (docs/design.md §14
// "Replica sets", Reseeding). The peer answers GET /worker/snapshot with its store's
// files, taken with its writes paused; they are written into DIR (each to a temp
// name, fsynced, renamed), which must be empty or absent. Then `serve-worker --node
// ID --data-dir DIR` starts as usual: it has the peer's events and marks of the set's
// streams, and the API nodes resend from those marks what it still lacks.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/file_io.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/node_config.h"
#include "cli/secret.h"
#include "cli/worker_request.h"
#include "config/replica_set.h"
#include "server/model/snapshot_format.h"
#include "server/model/worker_protocol.h"  // kSnapshotPath

namespace rt::cli {
namespace {

struct ReseedOptions {
  std::string config;
  std::string node;
  std::string data_dir;
  std::string from;
  std::string worker_key_file;
  int timeout_s = 600;
};

int Fail(int code, const std::string& message) {
  std::cerr << "rtctl reseed-worker: " << message << "\n";
  return code;
}

// Whether some replica set of the routing has both workers: only a member of the
// same set holds the same events.
bool ShareASet(const ClusterConfig& config, const std::string& a, const std::string& b) {
  for (const ReplicaSet& set : ReplicaSetsOf(config)) {
    if (HasMember({set}, a) && HasMember({set}, b)) return true;
  }
  return false;
}

Status CheckEmptyDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return Status::Ok();
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::InvalidArgument("--data-dir " + dir + " is not a directory");
  }
  if (!std::filesystem::is_empty(dir, ec)) {
    return Status::InvalidArgument(
        "--data-dir " + dir +
        " is not empty: reseeding writes only into an empty or new directory (move the old "
        "data dir away first)");
  }
  return Status::Ok();
}

int RunReseed(const ReseedOptions& options) {
  if (options.node == options.from) {
    return Fail(kExitUsage, "--node and --from name the same worker " + options.node);
  }
  const NodeConfig loaded = LoadNodeConfig(options.config, SystemClock().NowMillis(), false);
  if (!loaded.config.ok()) return Fail(kExitFailure, loaded.config.status().message());
  const ClusterConfig& config = *loaded.config;
  for (const std::string* id : {&options.node, &options.from}) {
    if (config.worker_nodes.find(*id) == config.worker_nodes.end()) {
      return Fail(kExitFailure, "worker " + *id + " is not in worker-nodes of " + options.config);
    }
  }
  if (!ShareASet(config, options.node, options.from)) {
    return Fail(kExitFailure, "workers " + options.node + " and " + options.from +
                                  " are in no replica set together in " + options.config +
                                  ": only a member of the same set holds the same events");
  }
  if (Status empty = CheckEmptyDir(options.data_dir); !empty.ok()) {
    return Fail(kExitFailure, empty.message());
  }
  Result<std::optional<WorkerKey>> key = ReadWorkerKey(options.worker_key_file);
  if (!key.ok()) return Fail(kExitFailure, key.status().message());
  if (!*key) {
    return Fail(kExitUsage,
                "no worker key: pass --worker-key-file F or set RT_WORKER_KEY (rtctl worker-key)");
  }

  const std::string peer_url = config.worker_nodes.at(options.from);
  const std::string target(kSnapshotPath);
  const std::chrono::seconds timeout(options.timeout_s);
  HttpClient client(WorkerOrigin(peer_url), HttpClientOptions{std::chrono::seconds(5), timeout});
  const Result<HttpResponse> response =
      client.Get(target, SignatureHeaders(**key, SystemClock(), "GET", target, ""));
  if (!response.ok()) return Fail(kExitFailure, response.status().message());
  if (response->status != 200) {
    return Fail(kExitFailure,
                "worker " + options.from + " answered " + DescribeHttpError(*response));
  }
  Result<SnapshotFiles> files = ParseSnapshot(response->body);
  if (!files.ok()) {
    return Fail(kExitFailure, "worker " + options.from + ": " + files.status().message());
  }

  if (Status made = EnsureDir(options.data_dir); !made.ok()) {
    return Fail(kExitFailure, made.message());
  }
  uint64_t bytes = 0;
  for (const auto& [name, content] : *files) {
    if (Status written = WriteFileAtomically(options.data_dir, name, content); !written.ok()) {
      return Fail(kExitFailure, written.message());
    }
    bytes += content.size();
  }
  std::cout << "reseeded worker " << options.node << " in " << options.data_dir << " from worker "
            << options.from << ": " << files->size() << " files, " << bytes
            << " bytes; start it: rtctl serve-worker --config " << options.config << " --node "
            << options.node << " --data-dir " << options.data_dir << "\n";
  return kExitOk;
}

}  // namespace

CommandRunner SetupReseedWorker(CLI::App& app) {
  auto options = std::make_shared<ReseedOptions>();
  CLI::App* sub = app.add_subcommand(
      "reseed-worker", "Give a replica member a new data dir copied from a live member of its set");
  sub->add_option("--config", options->config, "The cluster config (file or etcd:// location)")
      ->required();
  sub->add_option("--node", options->node, "The worker to reseed (its id in worker-nodes)")
      ->required();
  sub->add_option("--data-dir", options->data_dir, "Its new data dir: must be empty or absent")
      ->required();
  sub->add_option("--from", options->from, "A live member of the same replica set to copy (its id)")
      ->required();
  sub->add_option("--worker-key-file", options->worker_key_file,
                  "File holding the worker key, mode 0600 (else env RT_WORKER_KEY)");
  sub->add_option("--timeout-s", options->timeout_s,
                  "How long to wait for the peer's snapshot (default 600)")
      ->check(CLI::PositiveNumber);
  return [options] { return RunReseed(*options); };
}

}  // namespace rt::cli
