#include "cli/node_config.h"

#include "config/config_loader.h"

namespace rt::cli {

NodeConfig LoadNodeConfig(const std::string& path, int64_t process_start_ms, bool strict) {
  ConfigReport report = CheckClusterConfigFile(path, process_start_ms);
  NodeConfig loaded;
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
