// rtctl worker-key [--secret-file F]: prints the worker key derived from the cluster
// secret (docs/design.md §3 "Exactly-once streams and the worker protocol"), 64 hex
// characters and a newline, for `serve-worker --worker-key-file` or RT_WORKER_KEY.
// The secret comes from --secret-file or RT_SECRET, checked as serve-api checks it.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/secret.h"
#include "server/auth/worker_key.h"

namespace rt::cli {
namespace {

struct WorkerKeyOptions {
  std::string secret_file;
};

int RunWorkerKey(const WorkerKeyOptions& options) {
  Result<std::optional<std::string>> secret = ReadSecret(options.secret_file);
  if (!secret.ok()) {
    std::cerr << "rtctl worker-key: " << secret.status().message() << "\n";
    return kExitFailure;
  }
  if (!*secret) {
    std::cerr << "rtctl worker-key: no cluster secret: pass --secret-file F or set RT_SECRET\n";
    return kExitUsage;
  }
  std::cout << WorkerKey::Derive(**secret).Hex() << "\n";
  return kExitOk;
}

}  // namespace

CommandRunner SetupWorkerKey(CLI::App& app) {
  auto options = std::make_shared<WorkerKeyOptions>();
  CLI::App* sub = app.add_subcommand(
      "worker-key", "Print the worker key derived from the cluster secret (for serve-worker)");
  sub->add_option("--secret-file", options->secret_file,
                  "File holding the cluster secret, mode 0600 (else env RT_SECRET)");
  return [options] { return RunWorkerKey(*options); };
}

}  // namespace rt::cli
