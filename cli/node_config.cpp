#include "cli/node_config.h"

#include "config/config_loader.h"
#include "config/source/config_location.h"
#include "config/source/config_text.h"
#include "server/model/user_keyer.h"

namespace rt::cli {

std::string ConfigSourceHash(std::string_view bytes) { return Sha256Hex(bytes).substr(0, 12); }

namespace {

NodeConfig Check(const std::string& path, const Result<ConfigText>& text, int64_t process_start_ms,
                 bool strict) {
  NodeConfig loaded;
  // One read for both the report and the hash: a file replaced in between would
  // otherwise get another file's hash.
  ConfigReport report;
  if (text.ok()) {
    loaded.hash = ConfigSourceHash(text->text);
    loaded.revision = text->revision;
    report = CheckClusterConfigText(text->text, process_start_ms);
  } else {
    loaded.read_status = text.status();
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

}  // namespace

NodeConfig LoadNodeConfig(const std::string& location, int64_t process_start_ms, bool strict) {
  Result<ConfigLocation> parsed = ParseConfigLocation(location);
  const Result<ConfigText> text =
      parsed.ok() ? ReadConfigText(*parsed) : Result<ConfigText>(parsed.status());
  return Check(location, text, process_start_ms, strict);
}

NodeConfig NodeConfigFromText(const std::string& location, const std::string& text,
                              int64_t revision, int64_t process_start_ms, bool strict) {
  return Check(location, ConfigText{text, revision}, process_start_ms, strict);
}

std::string FormatConfigWarning(const std::string& path, const ConfigProblem& warning) {
  return FormatProblem("config " + path, warning);
}

}  // namespace rt::cli
