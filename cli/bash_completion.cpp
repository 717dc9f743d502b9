#include "cli/bash_completion.h"

#include <cctype>
#include <sstream>
#include <vector>

namespace rt::cli {
namespace {

// CLI11 leaves a subcommand or option of the group "" out of --help: so do we.
bool Hidden(const CLI::App& sub) { return sub.get_group().empty(); }

std::vector<const CLI::App*> VisibleSubcommands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!Hidden(*sub)) out.push_back(sub);
  }
  return out;
}

struct Words {
  std::string flags;   // options that take no value
  std::string valued;  // options that take one
};

Words OptionWords(const CLI::App& app) {
  Words words;
  for (const CLI::Option* opt : app.get_options()) {
    if (!opt->nonpositional() || opt->get_group().empty()) continue;
    std::string& list = opt->get_type_size_max() == 0 ? words.flags : words.valued;
    for (const std::string& name : opt->get_lnames()) list += " --" + name;
    for (const std::string& name : opt->get_snames()) list += " -" + name;
  }
  return words;
}

// One `case` arm per subcommand path, keyed by the path joined with ':' (the
// top level is ""), e.g. "slice:show" for `rtctl slice show`.
void EmitArms(const CLI::App& app, const std::string& path, std::ostringstream& out) {
  std::string subs;
  for (const CLI::App* sub : VisibleSubcommands(app)) subs += " " + sub->get_name();
  const Words words = OptionWords(app);
  out << "    \"" << path << "\")\n"
      << "      subs=\"" << (subs.empty() ? "" : subs.substr(1)) << "\"\n"
      << "      flags=\"" << (words.flags.empty() ? "" : words.flags.substr(1)) << "\"\n"
      << "      valued=\"" << (words.valued.empty() ? "" : words.valued.substr(1)) << "\" ;;\n";
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    EmitArms(*sub, path.empty() ? sub->get_name() : path + ":" + sub->get_name(), out);
  }
}

}  // namespace

std::string BashCompletionScript(const CLI::App& app, const std::string& name) {
  std::string fn;
  for (char c : name) fn += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  std::ostringstream out;
  out << "# bash completion for " << name << "; generated from the program's own options\n"
      << "# by `" << name << " completion bash`: do not edit.\n"
      << "_" << fn << "_arms() {\n"
      << "  case \"$1\" in\n";
  EmitArms(app, "", out);
  out << "    *) subs=\"\"; flags=\"\"; valued=\"\" ;;\n"
      << "  esac\n"
      << "}\n"
      << "_" << fn << "() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=\"\" path=\"\" subs flags valued i w\n"
      << "  COMPREPLY=()\n"
      // Walk the words before the cursor: a subcommand name of the current level
      // descends; an option that takes a value skips that value.
      << "  _" << fn << "_arms \"$path\"\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    w=${COMP_WORDS[i]}\n"
      << "    if [[ \" $valued \" == *\" $w \"* ]]; then ((i++)); continue; fi\n"
      << "    if [[ $w != -* && \" $subs \" == *\" $w \"* ]]; then\n"
      << "      path=${path:+$path:}$w\n"
      << "      _" << fn << "_arms \"$path\"\n"
      << "    fi\n"
      << "  done\n"
      << "  ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      << "  if [[ -n $prev && \" $valued \" == *\" $prev \"* ]]; then return 0; fi\n"
      << "  if [[ $cur == -* ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$flags $valued\" -- \"$cur\"))\n"
      << "  elif [[ -n $subs ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
      << "  fi\n"
      << "  return 0\n"
      << "}\n"
      << "complete -o default -F _" << fn << " " << name << "\n";
  return out.str();
}

}  // namespace rt::cli
