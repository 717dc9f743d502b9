// rtctl: runs, talks to, checks and simulates an rt cluster. See README.md.
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/usage_error.h"
#include "cli/version.h"

namespace {

std::vector<CLI::App*> AllSubcommands(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rt::cli;
  CLI::App app{"rtctl: run, query, check and simulate an rt analytics cluster"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.set_version_flag("--version", VersionText(),
                       "Print rtctl's version and git revision, and the Kyoto Cabinet and "
                       "Boost versions, and exit");

  std::vector<std::pair<CLI::App*, CommandRunner>> commands;
  for (auto setup :
       {SetupServeApi, SetupServeWorker, SetupSend, SetupQuery, SetupPerWorker, SetupAllSlices,
        SetupValidateConfig, SetupSimulate, SetupSlice, SetupWorkerKey, SetupWorkerGet,
        SetupReseedWorker, SetupConfig, SetupStatus, SetupCompletion}) {
    CommandRunner runner = setup(app);
    commands.emplace_back(AllSubcommands(app).back(), std::move(runner));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 in CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << DescribeUsageError(app, e, std::vector<std::string>(argv + 1, argv + argc))
              << "\n";
    return kExitUsage;
  }
  for (auto& [sub, runner] : commands) {
    if (sub->parsed()) return runner();
  }
  return kExitUsage;
}
