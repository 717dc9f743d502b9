#include "cli/bash_completion.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rt::cli {
namespace {

// A small CLI with what the generator must handle: options with and without a value,
// a nested subcommand, a hidden subcommand and a hidden option.
struct Tool {
  CLI::App app{"a tool"};
  std::string id;
  bool json = false;
  bool force = false;
  std::string secret;
  Tool() {
    CLI::App* get = app.add_subcommand("get", "Get a thing");
    get->add_option("--id", id, "Which one");
    get->add_flag("-j,--json", json, "As JSON");
    get->add_option("--internal", secret, "Not for users")->group("");
    CLI::App* db = app.add_subcommand("db", "The database");
    db->add_subcommand("compact", "Compact it")->add_flag("--force", force, "Even if busy");
    app.add_subcommand("hidden-thing", "Secret")->group("");
  }
};

// COMPREPLY of the script's completion function for `words` (the last is the word
// under the cursor), from a real bash.
std::string Complete(const std::string& script_path, const std::vector<std::string>& words) {
  std::vector<std::string> args = {
      "--norc",
      "--noprofile",
      "-c",
      "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _tool; "
      "echo \"${COMPREPLY[*]}\"",
      "bash",
      script_path};
  args.insert(args.end(), words.begin(), words.end());
  testing::Process bash("/bin/bash", args);
  REQUIRE(bash.started());
  const std::optional<int> code = bash.WaitExit();
  INFO(bash.Stderr());
  REQUIRE(code == 0);
  std::string out = bash.Stdout();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::set<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

TEST_CASE("the bash completion completes subcommands, nested ones and their options",
          "[cli][completion]") {
  Tool tool;
  testing::TempDir dir;
  const std::string path = dir.Sub("tool.bash");
  std::ofstream(path) << BashCompletionScript(tool.app, "tool");

  CHECK(Complete(path, {"tool", ""}) == "get db");
  CHECK(Complete(path, {"tool", "g"}) == "get");
  CHECK(Words(Complete(path, {"tool", "get", "--"})) ==
        std::set<std::string>{"--help", "--id", "--json"});
  CHECK(Complete(path, {"tool", "get", "--j"}) == "--json");
  CHECK(Complete(path, {"tool", "db", ""}) == "compact");
  CHECK(Complete(path, {"tool", "db", "compact", "--f"}) == "--force");
  // After an option that takes a value, the script offers nothing itself (bash's
  // file names take over: complete -o default); after the value, options again.
  CHECK(Complete(path, {"tool", "get", "--id", ""}).empty());
  CHECK(Complete(path, {"tool", "get", "--id", "7", "--js"}) == "--json");
}

TEST_CASE("the bash completion leaves hidden subcommands and options out", "[cli][completion]") {
  Tool tool;
  const std::string script = BashCompletionScript(tool.app, "tool");
  CHECK(script.find("hidden-thing") == std::string::npos);
  CHECK(script.find("--internal") == std::string::npos);
  CHECK(script.find("complete -o default -F _tool tool") != std::string::npos);
}

}  // namespace
}  // namespace rt::cli
