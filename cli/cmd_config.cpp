// rtctl config get|put|history LOCATION: the cluster config kept in etcd
// (docs/design.md §5 "Config and the safe-change rule"). `put` is the only way a
// config should reach etcd: it validates the new text, runs the safe-change check
// against the value it read (as validate-config --against does, asking that
// config's workers which slices they hold), and writes with a compare-and-swap on
// that value's mod_revision, so that two operators racing from the same read cannot
// both win and nothing unsafe is written. There is no force flag.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/held_slices.h"
#include "cli/secret.h"
#include "cli/time_option.h"
#include "config/config_diff.h"
#include "config/config_loader.h"
#include "config/safe_change.h"
#include "config/source/config_location.h"
#include "config/source/config_text.h"
#include "config/source/etcd_client.h"

namespace rt::cli {
namespace {

struct ConfigOptions {
  std::string location;
  std::string file;
  int64_t revision = 0;
  int64_t expect_revision = 0;
  std::string now;
  std::string worker_key_file;
  bool offline = false;
};

// How long one worker may take to say which slices it holds.
constexpr std::chrono::milliseconds kAskTimeout{2000};

int Fail(const std::string& sub, const std::string& message, int code = kExitFailure) {
  std::cerr << "rtctl config " << sub << ": " << message << "\n";
  return code;
}

// The etcd location of `text`, or the exit code to return (a file has no revisions
// and no compare-and-swap: those are etcd's).
Result<ConfigLocation> EtcdLocation(const std::string& text) {
  Result<ConfigLocation> location = ParseConfigLocation(text);
  if (!location.ok()) return location;
  if (!location->is_etcd()) {
    return Status::InvalidArgument(
        "\"" + text + "\" is a file; config get/put/history take etcd://HOST:PORT/KEY");
  }
  return location;
}

int RunGet(const ConfigOptions& options) {
  Result<ConfigLocation> location = EtcdLocation(options.location);
  if (!location.ok()) return Fail("get", location.status().message(), kExitUsage);
  Result<ConfigText> text = ReadConfigText(*location, options.revision);
  if (!text.ok()) return Fail("get", text.status().message());
  // The text exactly as stored on stdout (pipeable to a file and back to put); the
  // revision, which is not part of the config, on stderr.
  std::cout << text->text;
  if (!text->text.empty() && text->text.back() != '\n') std::cout << "\n";
  std::cout.flush();
  std::cerr << "revision " << text->revision << "\n";
  return kExitOk;
}

// The safe-change check of `next` against `running` (the value read) at `now_ms`,
// with the slices `running`'s workers hold as its floor. Prints each violation;
// true when safe.
bool CheckPutIsSafe(const ConfigOptions& options, const ClusterConfig& running,
                    const ClusterConfig& next, int64_t now_ms,
                    const std::optional<WorkerKey>& key) {
  SafeChangeContext context;
  if (key) {
    const HeldSlices held = AskWorkersHeldSlices(running, kAskTimeout, *key);
    context.held_through_slice = held.held_through;
    for (const std::string& warning : held.warnings) {
      std::cerr << "rtctl config put: warning: " << warning << "\n";
    }
  }
  const std::vector<UnsafeChange> changes = CheckSafeChange(running, next, now_ms, context);
  for (const UnsafeChange& change : changes) {
    std::cerr << "rtctl config put: " << options.file << ": unsafe change against "
              << options.location << ": " << change.message << "\n";
  }
  return changes.empty();
}

int RunPut(const ConfigOptions& options) {
  Result<ConfigLocation> location = EtcdLocation(options.location);
  if (!location.ok()) return Fail("put", location.status().message(), kExitUsage);
  const int64_t start_ms = SystemClock().NowMillis();
  Result<std::string> text = ReadConfigFile(options.file);
  if (!text.ok()) return Fail("put", text.status().message());
  const ConfigReport report = CheckClusterConfigText(*text, start_ms);
  for (const ConfigProblem& problem : report.problems) {
    std::cerr << FormatProblem(options.file, problem) << "\n";
  }
  if (!report.ok()) return Fail("put", options.file + " is not a valid config; nothing written");

  std::optional<WorkerKey> key;
  if (!options.offline) {
    Result<std::optional<WorkerKey>> read = ReadWorkerKey(options.worker_key_file);
    if (!read.ok()) return Fail("put", read.status().message());
    if (!*read) return Fail("put", NoWorkerKeyLine("config put"), kExitUsage);
    key = *read;
  }

  const EtcdClient client(location->endpoints);
  Result<EtcdValue> current = client.Get(location->key);
  if (!current.ok()) return Fail("put", current.status().message());
  if (options.expect_revision > 0 && current->mod_revision != options.expect_revision) {
    return Fail("put", "changed since read at revision " + std::to_string(options.expect_revision) +
                           "; run it again");
  }
  if (current->exists) {
    const ConfigReport running = CheckClusterConfigText(current->value, start_ms);
    if (!running.ok()) {
      // Nodes run the last valid config they had; each still refuses an unsafe
      // change on its own, so a broken value in etcd must not block its repair.
      std::cerr << "rtctl config put: warning: the value at revision " << current->mod_revision
                << " is not a valid config; no safe-change check against it\n";
    } else {
      int64_t now_ms = start_ms;
      if (!options.now.empty()) {
        Result<int64_t> now = ParseTimeOption("--now", options.now, running.config->timestamp_unit);
        if (!now.ok()) return Fail("put", now.status().message(), kExitUsage);
        now_ms = *now;
      }
      if (!CheckPutIsSafe(options, *running.config, *report.config, now_ms, key)) {
        return Fail("put", "unsafe against revision " + std::to_string(current->mod_revision) +
                               "; nothing written");
      }
    }
  }
  Result<int64_t> written = client.CompareAndPut(location->key, *text, current->mod_revision);
  if (!written.ok()) {
    if (written.status().code() == Status::Code::kConflict) {
      return Fail("put", "changed since read at revision " + std::to_string(current->mod_revision) +
                             "; run it again");
    }
    return Fail("put", written.status().message());
  }
  std::cout << options.location << ": revision " << *written << "\n";
  return kExitOk;
}

// One line per kept revision: "revision N  SUMMARY", SUMMARY being what changed
// from the previous revision (DescribeConfigChange), "created", "deleted", or why
// the value is not a valid config. etcd keeps no time of a write.
int RunHistory(const ConfigOptions& options) {
  Result<ConfigLocation> location = EtcdLocation(options.location);
  if (!location.ok()) return Fail("history", location.status().message(), kExitUsage);
  const EtcdClient client(location->endpoints);
  Result<std::vector<EtcdEvent>> history = client.History(location->key);
  if (!history.ok()) return Fail("history", history.status().message());
  const int64_t start_ms = SystemClock().NowMillis();
  std::optional<ClusterConfig> previous;
  for (const EtcdEvent& event : *history) {
    std::string summary;
    if (event.deleted) {
      summary = "deleted";
      previous.reset();
    } else {
      const ConfigReport report = CheckClusterConfigText(event.value, start_ms);
      if (!report.ok()) {
        summary = "invalid: " + FirstConfigError("value", report).message();
      } else {
        summary = previous ? DescribeConfigChange(*previous, *report.config) : "created";
        previous = report.config;
      }
    }
    std::cout << "revision " << event.mod_revision << "  " << summary << "\n";
  }
  return kExitOk;
}

}  // namespace

CommandRunner SetupConfig(CLI::App& app) {
  auto options = std::make_shared<ConfigOptions>();
  CLI::App* config = app.add_subcommand("config", "Read, write and list the config kept in etcd");
  config->require_subcommand(1);
  const std::string location_help = "etcd://HOST:PORT[,HOST:PORT...]/KEY";

  CLI::App* get = config->add_subcommand("get", "Print the config (stdout) and its revision");
  get->add_option("LOCATION", options->location, location_help)->required();
  get->add_option("--revision", options->revision,
                  "An older revision still kept by etcd (default: the newest)")
      ->check(CLI::PositiveNumber);

  CLI::App* put = config->add_subcommand(
      "put",
      "Validate FILE, check it is a safe change from the value in etcd, write it "
      "if nobody changed that value meanwhile");
  put->add_option("LOCATION", options->location, location_help)->required();
  put->add_option("FILE", options->file, "The new config")->required();
  put->add_option("--now", options->now,
                  "The time of the change for the safe-change check: epoch milliseconds (or "
                  "the config's timestamp-unit) or YYYY-MM-DDTHH:MM:SS (UTC); default: now");
  put->add_option("--worker-key-file", options->worker_key_file,
                  "File holding the worker key that signs the asks to the workers, mode 0600 "
                  "(else env RT_WORKER_KEY)");
  put->add_option("--expect-revision", options->expect_revision,
                  "Write only over this revision (the one you read with config get): a change "
                  "made since by someone else makes the put fail")
      ->check(CLI::PositiveNumber);
  put->add_flag("--offline", options->offline,
                "Do not ask the running config's workers which slices they hold (the check "
                "then protects only the two configs' horizon)");

  CLI::App* history = config->add_subcommand(
      "history", "List the revisions etcd still keeps, each with what it changed");
  history->add_option("LOCATION", options->location, location_help)->required();

  return [options, get, put, history]() {
    if (get->parsed()) return RunGet(*options);
    if (put->parsed()) return RunPut(*options);
    if (history->parsed()) return RunHistory(*options);
    return kExitUsage;
  };
}

}  // namespace rt::cli
