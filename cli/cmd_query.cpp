// rtctl query: the three numbers of one slice from an API node.
#include <memory>

#include "cli/client_commands.h"
#include "cli/commands.h"
#include "cli/stats_text.h"
#include "server/model/slice_stats.h"

namespace rt::cli {

int RunQuery(const QueryOptions& options, const ClientIo& io) {
  const int64_t timestamp = TimestampOrNow(options.timestamp, options.seconds, io.clock);
  std::vector<std::string> headers;
  if (options.fresh) headers.emplace_back("Cache-Control: no-cache");
  FetchResult fetched = FetchText("query", options.client,
                                  "/analytics?timestamp=" + std::to_string(timestamp), headers, io);
  if (fetched.exit_code != kExitOk) return fetched.exit_code;

  const Result<SliceStats> parsed = ParseSliceStats(fetched.body);
  if (!parsed.ok()) {
    io.err << "rtctl query: unexpected answer: " << parsed.status().message() << "\n";
    return kExitFailure;
  }
  const SliceStats& stats = *parsed;
  io.out << (options.json ? FormatStatsJson(stats) + "\n" : FormatSliceStats(stats));
  return kExitOk;
}

CommandRunner SetupQuery(CLI::App& app) {
  auto options = std::make_shared<QueryOptions>();
  CLI::App* sub = app.add_subcommand("query",
                                     "Print the unique users, clicks and impressions "
                                     "of the slice holding a timestamp");
  AddClientOptions(*sub, options->client);
  AddTimestampOption(*sub, options->timestamp);
  sub->add_flag("--seconds", options->seconds,
                "Default timestamp in seconds (for a cluster with timestamp-unit seconds)");
  sub->add_flag("--fresh", options->fresh, "Bypass the API node's cache (Cache-Control: no-cache)");
  sub->add_flag("--json", options->json, "Print one JSON object instead of the three lines");
  return [options] { return RunQuery(*options, StandardIo()); };
}

}  // namespace rt::cli
