#include "cli/usage_error.h"

#include <cctype>
#include <string_view>

#include "config/config_validation.h"

namespace rt::cli {
namespace {

// The option name of an argument, without any "=value"; "" for what is not an
// option ("5", "-", "-1": a negative number is a value, as CLI11 reads it).
std::string OptionName(const std::string& arg) {
  const size_t dashes = arg.starts_with("--") ? 2 : arg.starts_with("-") ? 1 : 0;
  if (dashes == 0 || arg.size() <= dashes ||
      !std::isalpha(static_cast<unsigned char>(arg[dashes]))) {
    return "";
  }
  return arg.substr(0, arg.find('='));
}

// The first argument after the subcommand that names no option of `sub`.
std::string FirstUnknownOption(const CLI::App& sub, const std::vector<std::string>& args) {
  bool after_sub = false;
  for (const std::string& arg : args) {
    if (!after_sub) {
      after_sub = arg == sub.get_name();
      continue;
    }
    if (arg == "--") break;
    const std::string name = OptionName(arg);
    if (name.empty() || name == "-h" || name == "--help") continue;
    if (sub.get_option_no_throw(name) == nullptr) return name;
  }
  return "";
}

std::vector<std::string> LongOptionNames(const CLI::App& sub) {
  std::vector<std::string> names;
  for (const CLI::Option* option : sub.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  }
  return names;
}

std::string Suggest(const std::string& given, const std::vector<std::string>& known) {
  const std::vector<std::string_view> views(known.begin(), known.end());
  return SuggestKey(given, views);
}

}  // namespace

std::string DescribeUsageError(CLI::App& app, const CLI::ParseError& error,
                               const std::vector<std::string>& args) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) {
    // The first argument that is not an option is the subcommand rtctl did not know.
    for (const std::string& arg : args) {
      if (!OptionName(arg).empty()) continue;
      std::vector<std::string> names;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        names.push_back(sub->get_name());
      }
      const std::string suggestion = Suggest(arg, names);
      return "rtctl: unknown subcommand \"" + arg + "\"" +
             (suggestion.empty() ? "" : " (did you mean \"" + suggestion + "\"?)") +
             "; see rtctl --help";
    }
    return std::string("rtctl: ") + error.what() + " (see --help)";
  }
  const CLI::App& sub = *parsed[0];
  const std::string where = "rtctl " + sub.get_name();
  if (const std::string unknown = FirstUnknownOption(sub, args); !unknown.empty()) {
    const std::string suggestion = Suggest(unknown, LongOptionNames(sub));
    return where + ": unknown option " + unknown +
           (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)") + "; see " + where +
           " --help";
  }
  return where + ": " + error.what() + " (see --help)";
}

}  // namespace rt::cli
