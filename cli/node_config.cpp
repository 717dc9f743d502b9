#include "cli/node_config.h"

#include "config/config_loader.h"
#include "server/model/user_keyer.h"

namespace rt::cli {

std::string ConfigSourceHash(std::string_view bytes) { return Sha256Hex(bytes).substr(0, 12); }

NodeConfig LoadNodeConfig(const std::string& path, int64_t process_start_ms, bool strict) {
  NodeConfig loaded;
  // One read for both the report and the hash: a file replaced in between would
  // otherwise get another file's hash.
  ConfigReport report;
  if (Result<std::string> text = ReadConfigFile(path); text.ok()) {
    loaded.hash = ConfigSourceHash(*text);
    report = CheckClusterConfigText(*text, process_start_ms);
  } else {
    report.problems.push_back({ConfigProblem::Severity::kError, "", 0, text.status().message()});
  }
  for (const ConfigProblem& problem : report.problems) {
    if (!problem.is_error()) loaded.warnings.push_back(problem);
  }
  if (!report.ok()) {
    loaded.config = FirstConfigError("config " + path, report);
    return loaded;
  }
  if (strict) {
    for (auto it = loaded.warnings.begin(); it != loaded.warnings.end(); ++it) {
      if (it->kind != ConfigProblem::Kind::kUnknownKey) continue;
      loaded.config =
          Status::InvalidArgument(FormatProblem("config " + path, *it) + " (refused: --strict)");
      loaded.warnings.erase(it);  // reported once, as the error
      return loaded;
    }
  }
  loaded.config = std::move(*report.config);
  return loaded;
}

std::string FormatConfigWarning(const std::string& path, const ConfigProblem& warning) {
  return FormatProblem("config " + path, warning);
}

}  // namespace rt::cli
