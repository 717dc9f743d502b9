#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "cli/http_client.h"

namespace rt::cli {

// Options shared by the client subcommands (send, query, perworker, allslices).
struct ClientOptions {
  std::string api;  // --api; empty: taken from RT_API when the command runs
  double timeout_s = 10;
};

// Adds --api and --timeout to a client subcommand.
void AddClientOptions(CLI::App& sub, ClientOptions& options);

// Adds --timestamp (stored as given in `timestamp`) to a client subcommand: an epoch
// number in the cluster's timestamp-unit, or `YYYY-MM-DDTHH:MM:SS` UTC. Anything
// else is a usage error when the command line is parsed.
void AddTimestampOption(CLI::App& sub, std::optional<std::string>& timestamp);

// Where a client subcommand writes and reads the time: the real process streams
// and clock in rtctl, string streams and a fixed clock in tests.
struct ClientIo {
  std::ostream& out;
  std::ostream& err;
  const Clock& clock;
  bool err_is_terminal = false;
};

// std::cout, std::cerr, the system clock, and whether stderr is a terminal.
ClientIo StandardIo();

// The API URL from --api, else from the environment variable RT_API; nullopt if
// neither is set (a usage error).
std::optional<std::string> ResolveApiUrl(const ClientOptions& options);

HttpClientOptions ToHttpClientOptions(const ClientOptions& options);

// `timestamp` if given, else now in milliseconds (or seconds when `seconds`),
// matching the cluster's timestamp-unit.
// A UTC time becomes epoch milliseconds (seconds when `seconds`); a number is sent
// as it is. REQUIRES: `timestamp` passed AddTimestampOption's check.
int64_t TimestampOrNow(const std::optional<std::string>& timestamp, bool seconds,
                       const Clock& clock);

// Prints the one-line usage error for a missing API URL; returns kExitUsage.
int ReportMissingApi(const std::string& command, std::ostream& err);

// The outcome of one GET by a client subcommand: the body of a 2xx answer, or
// the exit code to return after the one-line error has been printed.
struct FetchResult {
  int exit_code = 0;
  std::string body;
};

// GETs `path_and_query` from the API node of `options` (--api or RT_API). Errors
// go to io.err as `rtctl COMMAND: cannot reach URL: reason` (exit 1), `rtctl
// COMMAND: 400 reason` (exit 1) or the missing-API usage line (exit 2).
FetchResult FetchText(const std::string& command, const ClientOptions& options,
                      std::string_view path_and_query, const std::vector<std::string>& headers,
                      const ClientIo& io);

// Prints a perworker or allslices answer: as it is, or parsed into records as JSON
// (`json`) or an aligned table (`table`, with a total row when `total_row`).
// Returns the exit code (1 when the answer does not parse).
int PrintStatsAnswer(const std::string& command, const std::string& body, bool json, bool table,
                     bool total_row, const ClientIo& io);

}  // namespace rt::cli
