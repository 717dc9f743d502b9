// rtctl worker-get --worker URL [--slice S] [--worker-key-file F]: one signed read
// of a worker, for an operator (every worker endpoint but /healthz and /metrics
// wants a signature: docs/design.md §3). Without --slice it asks GET /worker/slices
// (JSON, every slice held), with it GET /worker?slice=S (the stats text). Prints the
// body; a non-2xx answer is exit 1 with the worker's reason.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/secret.h"
#include "cli/worker_request.h"

namespace rt::cli {
namespace {

struct WorkerGetOptions {
  std::string worker;
  std::optional<int64_t> slice;
  std::string worker_key_file;
};

int Fail(int code, const std::string& message) {
  std::cerr << "rtctl worker-get: " << message << "\n";
  return code;
}

int RunWorkerGet(const WorkerGetOptions& options) {
  Result<std::optional<WorkerKey>> key = ReadWorkerKey(options.worker_key_file);
  if (!key.ok()) return Fail(kExitFailure, key.status().message());
  if (!*key) {
    return Fail(kExitUsage,
                "no worker key: pass --worker-key-file F or set RT_WORKER_KEY (rtctl worker-key)");
  }
  const std::string target =
      options.slice ? "/worker?slice=" + std::to_string(*options.slice) : "/worker/slices";
  HttpClient client(WorkerOrigin(options.worker));
  const Result<HttpResponse> response =
      client.Get(target, SignatureHeaders(**key, SystemClock(), "GET", target, ""));
  if (!response.ok()) return Fail(kExitFailure, response.status().message());
  if (response->status < 200 || response->status > 299) {
    return Fail(kExitFailure, "worker answered " + DescribeHttpError(*response));
  }
  std::cout << response->body;
  if (!response->body.empty() && response->body.back() != '\n') std::cout << "\n";
  return kExitOk;
}

}  // namespace

CommandRunner SetupWorkerGet(CLI::App& app) {
  auto options = std::make_shared<WorkerGetOptions>();
  CLI::App* sub = app.add_subcommand(
      "worker-get", "Read a worker directly with a signed request (its slices, or one slice)");
  sub->add_option("--worker", options->worker,
                  "The worker's URL (http://host:port/worker, or host:port)")
      ->required();
  sub->add_option("--slice", options->slice,
                  "Print this slice's stats text (GET /worker?slice=S); default: every slice "
                  "held, as JSON (GET /worker/slices)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--worker-key-file", options->worker_key_file,
                  "File holding the worker key, mode 0600 (else env RT_WORKER_KEY)");
  return [options] { return RunWorkerGet(*options); };
}

}  // namespace rt::cli
