#include "config/config_problem.h"

#include <algorithm>

namespace rt {

bool HasErrors(const std::vector<ConfigProblem>& problems) {
  return std::any_of(problems.begin(), problems.end(),
                     [](const ConfigProblem& p) { return p.is_error(); });
}

std::string FormatProblem(const std::string& file, const ConfigProblem& problem) {
  std::string out = file;
  if (problem.line > 0) {
    // Appended piecewise: `":" + std::to_string(...)` trips GCC 12's false
    // -Wrestrict at -O3 (GCC PR 105329).
    out += ':';
    out += std::to_string(problem.line);
  }
  out += ": ";
  if (!problem.is_error()) out += "warning: ";
  if (!problem.path.empty()) out += problem.path + ": ";
  out += problem.message;
  return out;
}

std::string QuoteForMessage(std::string_view value) {
  constexpr size_t kMaxBytes = 128;
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kMaxBytes; ++i) {
    const char c = value[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += value.size() > kMaxBytes ? "...\"" : "\"";
  return out;
}

}  // namespace rt
