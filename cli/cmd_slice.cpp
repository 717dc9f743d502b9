// rtctl slice: which slice a time falls in, and from which slice a routing change is
// safe now.
#include "cli/cmd_slice.h"

#include <chrono>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/held_slices.h"
#include "cli/secret.h"
#include "cli/time_option.h"
#include "config/config_loader.h"
#include "config/safe_change.h"
#include "config/slice_math.h"
#include "config/utc_time.h"

namespace rt::cli {
namespace {

constexpr std::chrono::milliseconds kAskTimeout{2000};

std::string Utc(int64_t epoch_s) { return FormatUtcTime(epoch_s) + "Z"; }

}  // namespace

int RunSlice(const SliceOptions& options, const ClientIo& io) {
  const int64_t now_ms = io.clock.NowMillis();
  const Result<ClusterConfig> config = LoadClusterConfig(options.config, now_ms);
  if (!config.ok()) {
    io.err << "rtctl slice: " << config.status().message() << "\n";
    return kExitFailure;
  }
  int64_t at_ms = now_ms;
  if (!options.timestamp.empty()) {
    Result<int64_t> parsed =
        ParseTimeOption("--timestamp", options.timestamp, config->timestamp_unit);
    if (parsed.ok()) {
      const Status early = CheckNotBeforeFirstSlice("--timestamp", options.timestamp, *parsed,
                                                    *config, options.config);
      if (!early.ok()) parsed = early;
    }
    if (!parsed.ok()) {
      io.err << "rtctl slice: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    at_ms = *parsed;
  }
  const Result<int64_t> slice = SliceOfEpochMillis(*config, at_ms);
  if (!slice.ok()) {
    io.err << "rtctl slice: " << slice.status().message() << "\n";
    return kExitUsage;
  }

  SafeChangeContext context;
  bool asked = false;  // some worker answered
  if (!options.offline) {
    if (!options.worker_key) {
      io.err << NoWorkerKeyLine("slice") << "\n";
      return kExitUsage;
    }
    const HeldSlices held = AskWorkersHeldSlices(*config, kAskTimeout, *options.worker_key);
    for (const std::string& warning : held.warnings) {
      io.err << "rtctl slice: warning: " << warning << "\n";
    }
    context.held_through_slice = held.held_through;
    asked = !held.asked.empty();
  }
  const std::string held_text = !asked ? "unknown"
                                : context.held_through_slice
                                    ? std::to_string(*context.held_through_slice)
                                    : "none";
  const int64_t safe_from = ProtectedSlice(*config, *config, now_ms, context) + 1;
  const int64_t start_s = SliceStartSeconds(*config, *slice);
  const int64_t end_s = SliceStartSeconds(*config, *slice + 1);

  if (options.json) {
    nlohmann::json out = {{"slice", *slice},
                          {"start", Utc(start_s)},
                          {"end", Utc(end_s)},
                          {"start_epoch_s", start_s},
                          {"end_epoch_s", end_s},
                          {"held_through_slice", context.held_through_slice
                                                     ? nlohmann::json(*context.held_through_slice)
                                                     : nlohmann::json(nullptr)},
                          {"workers_asked", asked},
                          {"safe_from_slice", safe_from}};
    io.out << out.dump(2) << "\n";
    return kExitOk;
  }
  const std::pair<std::string_view, std::string> lines[] = {
      {"slice", std::to_string(*slice)},
      {"start", Utc(start_s)},
      {"end", Utc(end_s)},
      {"held-through", held_text},
      {"safe-from", std::to_string(safe_from)}};
  for (const auto& [key, value] : lines) {
    if (options.field.empty()) {
      io.out << key << " " << value << "\n";
    } else if (key == options.field) {
      io.out << value << "\n";
    }
  }
  return kExitOk;
}

CommandRunner SetupSlice(CLI::App& app) {
  auto options = std::make_shared<SliceOptions>();
  CLI::App* sub = app.add_subcommand(
      "slice",
      "Print the slice of a time, its start and end (UTC), and the first slice a routing "
      "change may start at now");
  sub->add_option("--config", options->config, "The cluster config")->required();
  sub->add_option("--timestamp", options->timestamp,
                  "The time: epoch in the config's timestamp-unit (milliseconds by default) or "
                  "YYYY-MM-DDTHH:MM:SS (UTC); default: now");
  sub->add_flag("--offline", options->offline,
                "Do not ask the workers which slices they hold (safe-from then counts only "
                "the config's own horizon)");
  CLI::Option* json =
      sub->add_flag("--json", options->json, "Print one JSON object instead of key value lines");
  sub->add_option("--field", options->field,
                  "Print only this line's value, for scripts: slice, start, end, held-through "
                  "or safe-from")
      ->check(
          CLI::IsMember(std::vector<std::string>(std::begin(kSliceFields), std::end(kSliceFields))))
      ->excludes(json);
  auto key_file = std::make_shared<std::string>();
  sub->add_option("--worker-key-file", *key_file,
                  "File holding the worker key that signs the asks, mode 0600 (else env "
                  "RT_WORKER_KEY)");
  return [options, key_file] {
    Result<std::optional<WorkerKey>> key = ReadWorkerKey(*key_file);
    if (!key.ok()) {
      std::cerr << "rtctl slice: " << key.status().message() << "\n";
      return kExitFailure;
    }
    options->worker_key = *key;
    return RunSlice(*options, StandardIo());
  };
}

}  // namespace rt::cli
