#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/cluster_config.h"
#include "config/config_problem.h"

namespace rt::cli {

// A serving node's view of its config file: the config, or the first error as
// LoadClusterConfig gives it, and the warnings to log (one line each, e.g. an
// unknown key with its did-you-mean hint: a typo in an optional key silently falls
// back to the default, so every node says so at start and reload). With `strict`
// (--strict), an unknown key is an error: a node refuses to start on it, and an API
// node refuses the reload.
struct NodeConfig {
  Result<ClusterConfig> config = Status::Internal("not loaded");
  std::vector<ConfigProblem> warnings;
  // ConfigSourceHash of the bytes read (also when they did not load); empty when
  // the file could not be read.
  std::string hash;
  // The etcd revision that wrote the bytes (0 for a file).
  int64_t revision = 0;
  // Why the source could not be read at all (Ok when it was): Unavailable when etcd
  // did not answer, which a running node treats as "keep going", not as a refusal.
  Status read_status;
};

// A config text's identity in metrics and /healthz (rt_config_generation{hash}):
// the first 12 hex digits of SHA-256 of its bytes, so that an operator can compare
// a node with a file by `sha256sum FILE | cut -c1-12`.
std::string ConfigSourceHash(std::string_view bytes);

// Reads and checks the config at `location`: a file path or an etcd:// location
// (config/source/config_location.h).
NodeConfig LoadNodeConfig(const std::string& location, int64_t process_start_ms, bool strict);

// As LoadNodeConfig on text already read (a watched etcd change), named `location`
// in messages.
NodeConfig NodeConfigFromText(const std::string& location, const std::string& text,
                              int64_t revision, int64_t process_start_ms, bool strict);

// "config FILE:LINE: warning: path: message", the log line of one warning.
std::string FormatConfigWarning(const std::string& path, const ConfigProblem& warning);

}  // namespace rt::cli
