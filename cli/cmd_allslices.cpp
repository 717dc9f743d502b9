// rtctl allslices: every slice that holds data, as the API node reports it.
#include <memory>

#include "cli/client_commands.h"
#include "cli/commands.h"
#include "cli/stats_text.h"

namespace rt::cli {

int RunAllSlices(const AllSlicesOptions& options, const ClientIo& io) {
  // As in perworker: a table or JSON asks for each slice's start.
  const bool formatted = options.json || options.table;
  FetchResult fetched =
      FetchText("allslices", options.client,
                formatted ? "/analytics/allslices?with-start" : "/analytics/allslices", {}, io);
  if (fetched.exit_code != kExitOk) return fetched.exit_code;
  // No total row: a user active in two slices is one user in each, so summing
  // unique users across slices would not count anything meaningful.
  return PrintStatsAnswer("allslices", fetched.body, options.json, options.table,
                          /*total_row=*/false, io);
}

CommandRunner SetupAllSlices(CLI::App& app) {
  auto options = std::make_shared<AllSlicesOptions>();
  CLI::App* sub = app.add_subcommand(
      "allslices", "Print the unique users, clicks and impressions of every slice with data");
  AddClientOptions(*sub, options->client);
  CLI::Option* json = sub->add_flag("--json", options->json, "Print a JSON array, one per slice");
  sub->add_flag("--table", options->table, "Print an aligned table with each slice's start (UTC)")
      ->excludes(json);
  return [options] { return RunAllSlices(*options, StandardIo()); };
}

}  // namespace rt::cli
