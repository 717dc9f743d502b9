// rtctl validate-config FILE [--against OLD] [--now T] [--offline] [--json]: checks a
// cluster config, and optionally that replacing a running config by it is safe
// (docs/design.md §5 "Config and the safe-change rule"): besides the two configs'
// horizon, every slice that OLD's workers hold data for stays fixed.
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/held_slices.h"
#include "cli/secret.h"
#include "cli/time_option.h"
#include "config/config_loader.h"
#include "config/replica_set.h"
#include "config/routing.h"
#include "config/safe_change.h"
#include "config/slice_math.h"
#include "config/source/config_text.h"
#include "config/utc_time.h"

namespace rt::cli {
namespace {

using nlohmann::json;

struct ValidateConfigOptions {
  std::string file;
  std::string against;
  std::string now;
  bool offline = false;
  bool json = false;
  std::string worker_key_file;
};

// How long one worker may take to say which slices it holds.
constexpr std::chrono::milliseconds kAskTimeout{2000};

std::string RangeText(int64_t first, std::optional<int64_t> last) {
  if (!last) return "slices " + std::to_string(first) + "..";
  if (*last == first) return "slice " + std::to_string(first);
  return "slices " + std::to_string(first) + ".." + std::to_string(*last);
}

std::string FirstSliceText(const ClusterConfig& config) {
  std::string text = FormatUtcTime(config.first_slice_s) + " UTC";
  if (config.first_slice_is_system) text = "system (process start; here " + text + ")";
  return text;
}

// "2 (0=http://..., 1=http://...)"
std::string NodeTable(const std::map<std::string, std::string>& table) {
  std::string list;
  for (const auto& [id, url] : table) list += (list.empty() ? "" : ", ") + id + "=" + url;
  return std::to_string(table.size()) + " (" + list + ")";
}

// The summary of a valid config under `first_line` (`FILE: ok`, or the --against verdict).
void PrintSummary(const std::string& first_line, const ClusterConfig& config) {
  std::cout << first_line << "\n"
            << "api nodes: " << NodeTable(config.api_nodes) << "\n"
            << "workers: " << NodeTable(config.worker_nodes) << "\n"
            << "slice length: " << config.slice_length_s << " s\n"
            << "first slice: " << FirstSliceText(config) << "\n"
            << "timestamp unit: " << TimestampUnitName(config.timestamp_unit) << "\n"
            << "cache-ttl-ms " << config.cache_ttl_ms << ", reload-interval-s "
            << config.reload_interval_s << ", max-future-s " << config.max_future_s
            << ", max-late-slices "
            << (config.max_late_slices ? std::to_string(*config.max_late_slices) : "none") << "\n"
            << "routing:\n";
  for (const RoutingRange& range : RoutingRanges(config)) {
    std::cout << "  " << RangeText(range.first, range.last) << ": " << JoinNodes(&range.nodes)
              << "\n";
  }
}

json ProblemsJson(const std::vector<ConfigProblem>& problems) {
  json out = json::array();
  for (const ConfigProblem& problem : problems) {
    out.push_back({{"severity", problem.is_error() ? "error" : "warning"},
                   {"path", problem.path},
                   {"line", problem.line > 0 ? json(problem.line) : json(nullptr)},
                   {"message", problem.message}});
  }
  return out;
}

json SummaryJson(const ClusterConfig& config) {
  json routing = json::array();
  for (const RoutingRange& range : RoutingRanges(config)) {
    routing.push_back({{"first_slice", range.first},
                       {"last_slice", range.last ? json(*range.last) : json(nullptr)},
                       {"nodes", SetsToJson<json>(range.nodes)}});
  }
  return {
      {"api_nodes", config.api_nodes},
      {"worker_nodes", config.worker_nodes},
      {"length_of_time_slice", config.slice_length_s},
      {"first_slice", FormatUtcTime(config.first_slice_s)},
      {"first_slice_epoch_s", config.first_slice_s},
      {"first_slice_is_system", config.first_slice_is_system},
      {"timestamp_unit", TimestampUnitName(config.timestamp_unit)},
      {"cache_ttl_ms", config.cache_ttl_ms},
      {"reload_interval_s", config.reload_interval_s},
      {"max_future_s", config.max_future_s},
      {"max_late_slices", config.max_late_slices ? json(*config.max_late_slices) : json(nullptr)},
      {"routing", routing}};
}

std::string_view KindName(UnsafeChange::Kind kind) {
  switch (kind) {
    case UnsafeChange::Kind::kRouting:
      return "routing";
    case UnsafeChange::Kind::kSliceLength:
      return "length-of-time-slice";
    case UnsafeChange::Kind::kFirstSlice:
      return "first-slice";
    case UnsafeChange::Kind::kTimestampUnit:
      return "timestamp-unit";
  }
  return "unknown";
}

json ChangesJson(const std::vector<UnsafeChange>& changes) {
  json out = json::array();
  for (const UnsafeChange& change : changes) {
    json item = {{"kind", KindName(change.kind)}, {"message", change.message}};
    if (change.kind == UnsafeChange::Kind::kRouting) {
      item["first_slice"] = change.first_slice;
      item["last_slice"] = change.last_slice;
      item["old_nodes"] = change.old_nodes ? SetsToJson<json>(*change.old_nodes) : json(nullptr);
      item["new_nodes"] = change.new_nodes ? SetsToJson<json>(*change.new_nodes) : json(nullptr);
      item["safe_from_slice"] = *change.safe_from_slice;
    }
    out.push_back(std::move(item));
  }
  return out;
}

void PrintProblems(const std::string& file, const std::vector<ConfigProblem>& problems) {
  for (const ConfigProblem& problem : problems) std::cerr << FormatProblem(file, problem) << "\n";
}

// --now as epoch ms: in the configs' timestamp unit (or a UTC time), and not before
// the first slice of either config (epoch seconds given for milliseconds would
// silently mean 1970). Configs that did not load are not consulted.
Result<int64_t> ResolveNow(const ValidateConfigOptions& options, const ConfigReport& report,
                           const ConfigReport* old_report) {
  const TimestampUnit unit =
      report.ok() ? report.config->timestamp_unit
                  : (old_report != nullptr && old_report->ok() ? old_report->config->timestamp_unit
                                                               : TimestampUnit::kMilliseconds);
  const Result<int64_t> now = ParseTimeOption("--now", options.now, unit);
  if (!now.ok()) return now;
  if (report.ok()) {
    const Status s =
        CheckNotBeforeFirstSlice("--now", options.now, *now, *report.config, options.file);
    if (!s.ok()) return s;
  }
  if (old_report != nullptr && old_report->ok()) {
    const Status s =
        CheckNotBeforeFirstSlice("--now", options.now, *now, *old_report->config, options.against);
    if (!s.ok()) return s;
  }
  return now;
}

// Asks OLD's workers which slices they hold (unless --offline) and puts the greatest
// into `context`; prints what it learnt (`out`) and one warning per worker it could
// not ask (stderr). Returns the same as JSON.
json AskHeldSlices(const ValidateConfigOptions& options, const ClusterConfig& old_config,
                   const std::optional<WorkerKey>& key, SafeChangeContext& context,
                   std::ostream& out) {
  if (options.offline) {
    std::cerr << "rtctl validate-config: warning: --offline: the workers of " << options.against
              << " were not asked which slices they hold; slices beyond the horizon that hold "
                 "data are not protected by this check\n";
    return {{"offline", true}};
  }
  const HeldSlices held = AskWorkersHeldSlices(old_config, kAskTimeout, *key);
  context.held_through_slice = held.held_through;
  for (const std::string& warning : held.warnings) {
    std::cerr << "rtctl validate-config: warning: " << warning << "\n";
  }
  if (!options.json) {
    std::string asked;
    for (const std::string& id : held.asked) asked += (asked.empty() ? "" : ", ") + id;
    out << "asked workers of " << options.against << ": "
        << (asked.empty() ? "none answered" : asked) << "; greatest slice held: "
        << (held.held_through ? std::to_string(*held.held_through) : "none") << "\n";
  }
  return {{"offline", false},
          {"asked", held.asked},
          {"held_through_slice", held.held_through ? json(*held.held_through) : json(nullptr)},
          {"warnings", held.warnings}};
}

int RunValidateConfig(const ValidateConfigOptions& options) {
  const int64_t process_start_ms = SystemClock().NowMillis();
  const ConfigReport report = CheckClusterConfigAt(options.file, process_start_ms);
  std::optional<ConfigReport> old_report;
  if (!options.against.empty()) {
    old_report = CheckClusterConfigAt(options.against, process_start_ms);
  }
  int64_t now_ms = process_start_ms;
  if (!options.now.empty()) {
    const Result<int64_t> parsed = ResolveNow(options, report, old_report ? &*old_report : nullptr);
    if (!parsed.ok()) {
      std::cerr << "rtctl validate-config: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    now_ms = *parsed;
  }

  json out = {
      {"file", options.file}, {"valid", report.ok()}, {"problems", ProblemsJson(report.problems)}};
  if (report.ok()) out["config"] = SummaryJson(*report.config);
  bool ok = report.ok();
  // With --against the verdict leads: `FILE: safe to replace OLD at T` or `FILE:
  // UNSAFE against OLD at T` replaces `FILE: ok` as the first line of stdout, and the
  // check's own lines follow the summary (violations on stderr, after the warnings).
  std::optional<std::string> verdict;
  std::ostringstream check_out;
  std::ostringstream check_err;
  if (old_report) {
    json against = {{"file", options.against},
                    {"valid", old_report->ok()},
                    {"problems", ProblemsJson(old_report->problems)},
                    {"now_ms", now_ms}};
    if (!old_report->ok()) {
      ok = false;
      if (!options.json) {
        for (const ConfigProblem& problem : old_report->problems) {
          check_err << FormatProblem(options.against, problem) << "\n";
        }
        check_err << "rtctl validate-config: --against " << options.against
                  << " is not a valid config; no safe-change check\n";
      }
    } else if (report.ok()) {
      const ClusterConfig& old_config = *old_report->config;
      const ClusterConfig& new_config = *report.config;
      // The workers answer signed requests only (docs/design.md §3).
      std::optional<WorkerKey> key;
      if (!options.offline) {
        Result<std::optional<WorkerKey>> read = ReadWorkerKey(options.worker_key_file);
        if (!read.ok()) {
          std::cerr << "rtctl validate-config: " << read.status().message() << "\n";
          return kExitFailure;
        }
        if (!*read) {
          std::cerr << NoWorkerKeyLine("validate-config") << "\n";
          return kExitUsage;
        }
        key = *read;
      }
      SafeChangeContext context;
      against["held_slices"] = AskHeldSlices(options, old_config, key, context, check_out);
      const std::vector<UnsafeChange> changes =
          CheckSafeChange(old_config, new_config, now_ms, context);
      const int64_t horizon = ProtectedSlice(old_config, new_config, now_ms, context);
      against["protected_until_slice"] = horizon >= 0 ? json(horizon) : json(nullptr);
      against["safe"] = changes.empty();
      against["unsafe_changes"] = ChangesJson(changes);
      ok = ok && changes.empty();
      if (!options.json) {
        const std::string at = FormatUtcTime(now_ms / 1000) + " UTC";
        verdict = changes.empty()
                      ? options.file + ": safe to replace " + options.against + " at " + at
                      : options.file + ": UNSAFE against " + options.against + " at " + at + " (" +
                            std::to_string(changes.size()) + " unsafe change" +
                            (changes.size() == 1 ? "" : "s") + " listed on stderr)";
        bool routing_unsafe = false;
        for (const UnsafeChange& change : changes) {
          check_err << options.file << ": unsafe change against " << options.against << ": "
                    << change.message << "\n";
          routing_unsafe = routing_unsafe || change.kind == UnsafeChange::Kind::kRouting;
        }
        if (routing_unsafe) {
          check_err << options.file << ": at " << at
                    << " the routing change would be safe from slice " << horizon + 1
                    << " (starting " << FormatUtcTime(SliceStartSeconds(old_config, horizon + 1))
                    << " UTC)\n";
        }
      }
    }
    out["against"] = std::move(against);
  }
  if (!options.json) {
    if (report.ok()) PrintSummary(verdict.value_or(options.file + ": ok"), *report.config);
    std::cout << check_out.str();
    std::cout.flush();
    PrintProblems(options.file, report.problems);
    std::cerr << check_err.str();
  }
  out["ok"] = ok;
  if (options.json) std::cout << out.dump(2) << "\n";
  return ok ? kExitOk : kExitFailure;
}

}  // namespace

CommandRunner SetupValidateConfig(CLI::App& app) {
  auto options = std::make_shared<ValidateConfigOptions>();
  CLI::App* sub = app.add_subcommand(
      "validate-config", "Check a cluster config, and optionally that it may replace another");
  sub->add_option("FILE", options->file,
                  "The cluster config to check: a file or etcd://HOST:PORT[,...]/KEY")
      ->required();
  sub->add_option(
      "--against", options->against,
      "The running config (a file or etcd://...): also check that replacing it by FILE is safe");
  sub->add_option("--now", options->now,
                  "The time of the change for --against: epoch milliseconds (or the "
                  "config's timestamp-unit) or YYYY-MM-DDTHH:MM:SS (UTC); default: now");
  sub->add_flag("--offline", options->offline,
                "With --against: do not ask OLD's workers which slices they hold (the check "
                "then protects only the two configs' horizon)");
  sub->add_flag("--json", options->json, "Print the findings as JSON on stdout");
  sub->add_option("--worker-key-file", options->worker_key_file,
                  "With --against: file holding the worker key that signs the asks, mode 0600 "
                  "(else env RT_WORKER_KEY)");
  return [options] { return RunValidateConfig(*options); };
}

}  // namespace rt::cli
