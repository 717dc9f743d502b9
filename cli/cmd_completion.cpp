// rtctl completion bash: prints the bash completion script (cli/bash_completion.h).
// Hidden: the package installs the script, generated at build time, so users need
// not run it; it stays usable for a source install (`source <(rtctl completion bash)`).
#include <iostream>
#include <memory>
#include <string>

#include "cli/bash_completion.h"
#include "cli/commands.h"

namespace rt::cli {

CommandRunner SetupCompletion(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("completion", "Print a shell completion script");
  sub->group("");  // hidden from --help and from the docs' flag tables
  auto shell = std::make_shared<std::string>();
  sub->add_option("SHELL", *shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));
  return [&app, shell] {
    std::cout << BashCompletionScript(app, "rtctl");
    return kExitOk;
  };
}

}  // namespace rt::cli
