// rtctl query: the three numbers of one slice from an API node.
#include <memory>

#include "cli/client_commands.h"
#include "cli/commands.h"
#include "cli/stats_text.h"

namespace rt::cli {

int RunQuery(const QueryOptions& options, const ClientIo& io) {
  const int64_t timestamp = TimestampOrNow(options.timestamp, options.seconds, io.clock);
  std::vector<std::string> headers;
  if (options.fresh) headers.emplace_back("Cache-Control: no-cache");
  FetchResult fetched = FetchText("query", options.client,
                                  "/analytics?timestamp=" + std::to_string(timestamp), headers, io);
  if (fetched.exit_code != kExitOk) return fetched.exit_code;

  Result<std::vector<StatsRecord>> records = ParseStatsRecords(fetched.body);
  if (records.ok() && records->size() != 1) {
    records = Status::InvalidArgument("stats: expected one block, got " +
                                      std::to_string(records->size()));
  }
  if (!records.ok()) {
    io.err << "rtctl query: unexpected answer: " << records.status().message() << "\n";
    return kExitFailure;
  }
  const SliceStats& stats = records->front().stats;
  if (options.json) {
    io.out << FormatStatsJson(stats) << "\n";
  } else {
    io.out << "unique_users," << stats.unique_users << "\nclicks," << stats.clicks
           << "\nimpressions," << stats.impressions << "\n";
  }
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
