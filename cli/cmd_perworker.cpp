// rtctl perworker: each worker's share of one slice, as the API node reports it.
#include <memory>

#include "cli/client_commands.h"
#include "cli/commands.h"
#include "cli/stats_text.h"

namespace rt::cli {

int RunPerWorker(const PerWorkerOptions& options, const ClientIo& io) {
  const int64_t timestamp = TimestampOrNow(options.timestamp, options.seconds, io.clock);
  std::vector<std::string> headers;
  if (options.fresh) headers.emplace_back("Cache-Control: no-cache");
  // A table or JSON shows each slice's start, which the API node adds on request
  // (`with-start`; one that predates it ignores the parameter: no start column).
  // The plain answer stays as it was, for scripts that read it.
  const bool formatted = options.json || options.table;
  FetchResult fetched = FetchText("perworker", options.client,
                                  "/analytics/perworker?timestamp=" + std::to_string(timestamp) +
                                      (formatted ? "&with-start" : ""),
                                  headers, io);
  if (fetched.exit_code != kExitOk) return fetched.exit_code;
  return PrintStatsAnswer("perworker", fetched.body, options.json, options.table,
                          /*total_row=*/true, io);
}

CommandRunner SetupPerWorker(CLI::App& app) {
  auto options = std::make_shared<PerWorkerOptions>();
  CLI::App* sub = app.add_subcommand(
      "perworker", "Print each worker's unique users, clicks and impressions of one slice");
  AddClientOptions(*sub, options->client);
  AddTimestampOption(*sub, options->timestamp);
  sub->add_flag("--fresh", options->fresh, "Bypass the API node's cache (Cache-Control: no-cache)");
  sub->add_flag("--seconds", options->seconds,
                "Default timestamp in seconds (for a cluster with timestamp-unit seconds)");
  CLI::Option* json = sub->add_flag("--json", options->json, "Print a JSON array, one per worker");
  sub->add_flag("--table", options->table,
                "Print an aligned table with the slice's start (UTC) and a total row")
      ->excludes(json);
  return [options] { return RunPerWorker(*options, StandardIo()); };
}

}  // namespace rt::cli
