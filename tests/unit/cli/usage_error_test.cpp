#include "cli/usage_error.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace rt::cli {
namespace {

// Parses `args` with rtctl's client subcommands as main() does; the usage line, or
// "" when the command line parsed.
std::string UsageLine(const std::vector<std::string>& args) {
  CLI::App app{"rtctl"};
  app.require_subcommand(1);
  std::vector<CommandRunner> runners = {SetupQuery(app), SetupSend(app), SetupPerWorker(app)};
  std::vector<const char*> argv = {"rtctl"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return DescribeUsageError(app, e, args);
  }
  return "";
}

}  // namespace

TEST_CASE("a misspelt option gets the closest option of its subcommand", "[cli][usage]") {
  CHECK(UsageLine({"query", "--api", "http://127.0.0.1:1", "--timestmp", "5"}) ==
        "rtctl query: unknown option --timestmp (did you mean --timestamp?); "
        "see rtctl query --help");
  CHECK(UsageLine({"send", "--user=u", "--clik"}) ==
        "rtctl send: unknown option --clik (did you mean --click?); see rtctl send --help");
  // Nothing close: no suggestion.
  CHECK(UsageLine({"query", "--zzzzzzzzzz"}) ==
        "rtctl query: unknown option --zzzzzzzzzz; see rtctl query --help");
}

TEST_CASE("an unknown subcommand is named in one line", "[cli][usage]") {
  CHECK(UsageLine({"bogus"}) == "rtctl: unknown subcommand \"bogus\"; see rtctl --help");
  CHECK(UsageLine({"qurey", "--api", "x"}) ==
        "rtctl: unknown subcommand \"qurey\" (did you mean \"query\"?); see rtctl --help");
  CHECK_THAT(UsageLine({}), Catch::StartsWith("rtctl: ") && Catch::EndsWith("(see --help)"));
}

TEST_CASE("a --timeout of 0 is a usage error that prints no range", "[cli][usage]") {
  for (const char* bad : {"0", "-1", "1e999", "abc", "86401"}) {
    INFO(bad);
    const std::string line = UsageLine({"query", "--timeout", bad});
    CHECK_THAT(line, Catch::StartsWith("rtctl query: --timeout: must be a number of seconds above "
                                       "0 and at most 86400"));
    CHECK(line.size() < 200);
  }
  CHECK(UsageLine({"query", "--timeout", "0.5"}).empty());
}

}  // namespace rt::cli
