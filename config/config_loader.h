#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/cluster_config.h"
#include "config/config_problem.h"

namespace rt {

// Everything learnt from one config text: the config when it has no error, and
// every problem (errors and warnings, ordered by line; problems without a line,
// such as missing keys, first).
struct ConfigReport {
  std::optional<ClusterConfig> config;
  std::vector<ConfigProblem> problems;

  bool ok() const { return config.has_value(); }
};

// Parses and validates a cluster config (docs/design.md §5 "Config and the
// safe-change rule"; JSON with /* */ and // comments). `process_start_ms` (epoch ms,
// from a Clock) is what "first-slice": "system" resolves to, rounded down to the
// second. Adds to ValidateClusterConfig the structural checks: JSON syntax (with its
// line), the root not an object, missing required keys, wrong value types, an
// unparsable first-slice or timestamp-unit, a key repeated in one object (JSON keeps
// only the last one, so it is an error), and unknown keys (warnings, with the
// closest known key as a hint).
// Semantic checks of a section (e.g. routing) are skipped when the section, or one it
// depends on (worker-nodes for routing), has structural errors, so that one mistake
// is reported once.
ConfigReport CheckClusterConfigText(std::string_view text, int64_t process_start_ms);

// A config file's bytes; IoError when it cannot be read or is over 16 MiB. For a
// caller that needs the text as well as the report (e.g. to hash it), so that both
// come from one read.
[[nodiscard]] Result<std::string> ReadConfigFile(const std::string& path);

// As CheckClusterConfigText on a file's content; an unreadable file is one error.
ConfigReport CheckClusterConfigFile(const std::string& path, int64_t process_start_ms);

// The config, or an InvalidArgument naming the first error (with its line and how
// many more there are). Warnings are dropped: use the Check… functions to show them.
[[nodiscard]] Result<ClusterConfig> ParseClusterConfig(std::string_view text,
                                                       int64_t process_start_ms);

// The error ParseClusterConfig gives for `report` (FILE:LINE: path: message of the
// first error, and how many more), with `where` in place of FILE; Ok without errors.
[[nodiscard]] Status FirstConfigError(const std::string& where, const ConfigReport& report);

// As ParseClusterConfig on a file; IoError when it cannot be read.
[[nodiscard]] Result<ClusterConfig> LoadClusterConfig(const std::string& path,
                                                      int64_t process_start_ms);

}  // namespace rt
