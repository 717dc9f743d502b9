// Subcommands whose implementation has not landed yet. Each one says so plainly and
// fails; when a subcommand gets its own cmd_<name>.cpp, its entry here is removed.
#include <iostream>
#include <string>

#include "cli/commands.h"

namespace rt::cli {
namespace {

CommandRunner Pending(CLI::App& app, const std::string& name, const std::string& description) {
  CLI::App* sub = app.add_subcommand(name, description + " (not implemented yet)");
  sub->allow_extras();
  return [name] {
    std::cerr << "rtctl " << name << ": not implemented yet\n";
    return kExitFailure;
  };
}

}  // namespace

CommandRunner SetupServeWorker(CLI::App& app) {
  return Pending(app, "serve-worker", "Run a worker node");
}
CommandRunner SetupServeApi(CLI::App& app) { return Pending(app, "serve-api", "Run an API node"); }
CommandRunner SetupSimulate(CLI::App& app) {
  return Pending(app, "simulate", "Simulate a cluster against an exact oracle");
}

}  // namespace rt::cli
