// rtctl simulate: an in-process cluster on a fake clock, checked against an exact
// oracle (docs/design.md §10 "Simulator"). The scenario lives in sim/simulation.h;
// this file maps flags to it and prints the report.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "config/utc_time.h"
#include "sim/report.h"
#include "sim/simulation.h"

namespace rt::cli {
namespace {

constexpr size_t kFailuresShown = 10;

struct SimulateOptions {
  SimulationOptions simulation;
  bool json = false;
  bool no_progress = false;
  std::string report_file;
};

// "\r[########............] 12.5/48 h" on stderr, redrawn in place.
void DrawProgress(double done, int64_t total) {
  constexpr int kWidth = 30;
  const double fraction = total > 0 ? std::min(1.0, done / static_cast<double>(total)) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::fprintf(stderr, "\r[%s%s] %5.1f/%lld simulated hours", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, static_cast<long long>(total));
  std::fflush(stderr);
}

void AddHourOption(CLI::App& sub, const std::string& name, std::optional<int64_t>& target,
                   const std::string& what) {
  sub.add_option_function<int64_t>(
         name, [&target](const int64_t& value) { target = value; },
         what + " (default: scaled from the 48-hour scenario to --hours)")
      ->check(CLI::NonNegativeNumber);
}

// The report file can be written: checked before a run that may take minutes, so a
// wrong path fails at once with the reason, not after the run.
Status CheckReportWritable(const std::string& path) {
  const std::filesystem::path file(path);
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    return Status::IoError("--report " + path + ": is a directory");
  }
  const bool exists = std::filesystem::exists(file, ec);
  const std::string target = exists                       ? path
                             : file.parent_path().empty() ? std::string(".")
                                                          : file.parent_path().string();
  if (access(target.c_str(), W_OK) != 0) {
    return Status::IoError("--report " + path + ": cannot write " +
                           (exists ? std::string("the file") : "in " + target) + ": " +
                           std::strerror(errno));
  }
  return Status::Ok();
}

int RunSimulate(SimulateOptions options) {
  const SimulationOptions& sim = options.simulation;
  if (sim.workers % sim.replicas != 0 || sim.added_workers % sim.replicas != 0) {
    std::cerr << "rtctl simulate: --workers and --added-workers must be multiples of --replicas\n";
    return kExitUsage;
  }
  if (!options.report_file.empty()) {
    if (const Status s = CheckReportWritable(options.report_file); !s.ok()) {
      std::cerr << "rtctl simulate: " << s.message() << "\n";
      return kExitFailure;
    }
  }
  if (const std::vector<std::string> skipped = ChangesOutsideRun(options.simulation);
      !skipped.empty()) {
    std::string line;
    for (const std::string& change : skipped) line += (line.empty() ? "" : "; ") + change;
    std::cerr << "rtctl simulate: warning: the run ends at hour " << options.simulation.hours - 1
              << ", so these changes do not happen: " << line << "\n";
  }
  const bool terminal = isatty(STDERR_FILENO) == 1 && !options.no_progress;
  if (terminal) options.simulation.progress = DrawProgress;
  Result<SimReport> result = RunSimulation(options.simulation);
  if (terminal) std::fprintf(stderr, "\r%*s\r", 60, "");
  if (!result.ok()) {
    std::cerr << "rtctl simulate: " << result.status().message() << "\n";
    return kExitFailure;
  }
  const SimReport& report = *result;

  if (options.json) {
    std::cout << FormatReportJson(report);
  } else {
    for (const auto& change : report.changes) std::cout << "change: " << change << "\n";
    std::cout << FormatSliceTable(report) << FormatSummaryLine(report) << "\n";
    if (!report.data_dir.empty()) std::cout << "data kept in " << report.data_dir << "\n";
  }
  int exit_code = report.ok() ? kExitOk : kExitFailure;
  if (!options.report_file.empty()) {
    std::ofstream file(options.report_file, std::ios::binary | std::ios::trunc);
    file << FormatReportHtml(report);
    file.close();
    if (!file) {
      std::cerr << "rtctl simulate: cannot write " << options.report_file << ": "
                << std::strerror(errno) << "\n";
      exit_code = kExitFailure;
    }
  }
  const size_t shown = std::min(report.failures.size(), kFailuresShown);
  for (size_t i = 0; i < shown; ++i) {
    std::cerr << "rtctl simulate: " << report.failures[i] << "\n";
  }
  if (report.failures.size() > shown) {
    std::cerr << "rtctl simulate: ... and " << report.failures.size() - shown << " more failures\n";
  }
  return exit_code;
}

}  // namespace

CommandRunner SetupSimulate(CLI::App& app) {
  auto options = std::make_shared<SimulateOptions>();
  SimulationOptions& s = options->simulation;
  CLI::App* sub = app.add_subcommand(
      "simulate",
      "Run a whole cluster in this process on a fake clock and check every slice against an "
      "exact oracle");
  sub->add_option("--hours", s.hours, "Simulated hours (one slice each)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  sub->add_option("--events-per-hour", s.events_per_hour, "POSTs per simulated hour")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000}));
  sub->add_option("--api-nodes", s.api_nodes, "API nodes at the start")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--workers", s.workers, "Workers at the start")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--seed", s.seed, "Seed of the traffic (same seed, same traffic)")
      ->capture_default_str();
  sub->add_option("--users", s.users, "Size of the Zipf-distributed user pool")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  sub->add_option("--first-slice", s.first_slice, "Start of slice 0, YYYY-MM-DDTHH:MM:SS UTC")
      ->capture_default_str()
      ->check(
          [](const std::string& value) -> std::string {
            const Result<int64_t> parsed = ParseUtcTime(value);
            return parsed.ok() ? std::string() : parsed.status().message();
          },
          "TIME");
  AddHourOption(*sub, "--add-workers-at", s.add_workers_at,
                "Hour at which workers join for the slices from the next hour on");
  sub->add_option("--replicas", s.replicas,
                  "Workers per replica set (the workers are grouped in id order); with 2 or "
                  "more a worker also loses its disk and is reseeded from its peer")
      ->check(CLI::PositiveNumber);
  sub->add_option("--added-workers", s.added_workers, "How many workers join then")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  AddHourOption(*sub, "--add-api-at", s.add_api_at, "Hour at which another API node joins");
  AddHourOption(*sub, "--restart-at", s.restart_at,
                "Hour at which a worker is stopped and restarted while traffic goes on");
  AddHourOption(*sub, "--crash-api-at", s.crash_api_at,
                "Hour at which API node 0 crashes mid-hour (no drain, memory lost) and restarts "
                "on its spool");
  AddHourOption(*sub, "--wipe-at", s.wipe_at,
                "With --replicas 2 or more: hour at which a worker loses its data dir and is "
                "reseeded from its peer while traffic goes on");
  AddHourOption(*sub, "--unsafe-at", s.unsafe_at,
                "Hour at which an unsafe config change is attempted (it must be refused)");
  sub->add_option("--client-threads", s.client_threads, "Client threads sending the traffic")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_flag("--keep-data", s.keep_data, "Keep the temporary data dir and print its path");
  sub->add_flag("--json", options->json, "Print the report as one JSON object");
  sub->add_option("--report", options->report_file,
                  "Also write a self-contained HTML report to this file");
  sub->add_flag("--no-progress", options->no_progress,
                "No progress bar, even when stderr is a terminal");
  return [options] { return RunSimulate(*options); };
}

}  // namespace rt::cli
