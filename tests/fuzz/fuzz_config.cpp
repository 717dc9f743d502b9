// Fuzz target: cluster config files (docs/design.md §5 "Config and the safe-change
// rule"): JSON with comments through CheckClusterConfigText and ParseClusterConfig,
// and the line indexer (JsonLineIndex) on its own, which promises to stay in bounds
// on any text. Checks that nothing crashes, that a rejected config names at least one
// error with a message, that an accepted one has none, and that every problem's line
// is inside the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "config/json_lines.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A fixed start time, so that "first-slice": "system" is reproducible.
constexpr int64_t kStartMs = 1'700'000'000'123;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));

  const rt::ConfigReport report = rt::CheckClusterConfigText(text, kStartMs);
  RT_FUZZ_CHECK(report.ok() == !rt::HasErrors(report.problems));
  for (const rt::ConfigProblem& problem : report.problems) {
    RT_FUZZ_CHECK(!problem.message.empty());
    RT_FUZZ_CHECK(problem.line >= 0 && problem.line <= lines);
  }
  const rt::Status first = rt::FirstConfigError("fuzz.json", report);
  RT_FUZZ_CHECK(first.ok() == report.ok());
  if (!first.ok()) RT_FUZZ_CHECK(!first.message().empty());

  const rt::Result<rt::ClusterConfig> parsed = rt::ParseClusterConfig(text, kStartMs);
  RT_FUZZ_CHECK(parsed.ok() == report.ok());

  const rt::JsonLineIndex index = rt::JsonLineIndex::Build(text);
  for (const auto& duplicate : index.duplicates()) {
    RT_FUZZ_CHECK(duplicate.line >= 1 && duplicate.line <= lines);
  }
  const int root = index.LineOf("");
  RT_FUZZ_CHECK(root >= 0 && root <= lines);
  RT_FUZZ_CHECK(rt::LineOfOffset(text, size / 2) <= lines);
  return 0;
}
