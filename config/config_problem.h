#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rt {

// One finding of config validation. `path` is the key path in the file
// (`routing[2].nodes[1]`, `worker-nodes.3`, empty for the whole document); `line` is
// the 1-based line in the file where the key or value is, 0 when unknown (a missing
// key, or a config that was not parsed from text).
struct ConfigProblem {
  enum class Severity { kError, kWarning };
  // What code may act on (nodes started with --strict refuse kUnknownKey); the
  // message is for people.
  enum class Kind { kOther, kUnknownKey };

  Severity severity = Severity::kError;
  std::string path;
  int line = 0;
  std::string message;
  Kind kind = Kind::kOther;

  bool is_error() const { return severity == Severity::kError; }
  bool operator==(const ConfigProblem&) const = default;
};

bool HasErrors(const std::vector<ConfigProblem>& problems);

// "FILE:LINE: path: message" for errors and "FILE:LINE: warning: path: message" for
// warnings; the line and path parts are left out when unknown or empty.
std::string FormatProblem(const std::string& file, const ConfigProblem& problem);

// Quotes a value for a message: JSON-style quotes, cut to ~128 bytes, no newlines,
// so that one problem always stays one line.
std::string QuoteForMessage(std::string_view value);

}  // namespace rt
