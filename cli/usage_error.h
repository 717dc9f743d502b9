#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace rt::cli {

// The one line rtctl prints for a command line CLI11 refused (exit 2), without the
// trailing newline. CLI11 names neither the closest option to a misspelt one nor
// an unknown subcommand ("A subcommand is required"), so those two are found here
// from the parsed App's typed state (its subcommands and option names), not from
// CLI11's message:
//   rtctl query: unknown option --timestmp (did you mean --timestamp?)
//   rtctl: unknown subcommand "bogus" (did you mean "query"?); see rtctl --help
// Anything else keeps CLI11's text: `rtctl query: <what> (see --help)`.
// `args` are the command-line arguments after the program name.
std::string DescribeUsageError(CLI::App& app, const CLI::ParseError& error,
                               const std::vector<std::string>& args);

}  // namespace rt::cli
