#include "config/config_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/config_validation.h"
#include "config/json_depth.h"
#include "config/json_lines.h"
#include "config/utc_time.h"

namespace rt {
namespace {

using nlohmann::json;

// A real config is a few KiB (a routing entry per change, a URL per node); the caps
// are far above that and keep a wrong path (a log, /dev/zero) or a hostile file from
// taking the node's memory or, through the recursive steps after the parse, its stack.
// The file's size is checked before it is read, and the read stops past the cap.
constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr const char* kMaxConfigSize = "4 MiB";
// Arrays and objects inside each other; a cluster config needs 4.
constexpr size_t kMaxJsonDepth = 64;

const std::vector<std::string_view> kTopLevelKeys = {
    "api-nodes",      "worker-nodes", "length-of-time-slice", "first-slice",  "routing",
    "timestamp-unit", "cache-ttl-ms", "reload-interval-s",    "max-future-s", "max-late-slices"};
const std::vector<std::string_view> kRequiredKeys = {
    "api-nodes", "worker-nodes", "length-of-time-slice", "first-slice", "routing"};
const std::vector<std::string_view> kRoutingEntryKeys = {"slice", "nodes"};

// The root key of a path: "routing" for "routing[2].nodes[1]".
std::string Section(const std::string& path) { return path.substr(0, path.find_first_of(".[")); }

std::optional<int64_t> AsInt64(const json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

// A JSON value for a message: compact, one line, cut to ~128 bytes.
std::string Shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 128) text = text.substr(0, 128) + "...";
  return text;
}

// Converts the JSON tree into a ClusterConfig, recording structural problems.
class Converter {
 public:
  Converter(int64_t process_start_ms, std::vector<ConfigProblem>& problems)
      : process_start_ms_(process_start_ms), problems_(problems) {}

  ClusterConfig Convert(const json& root) {
    ClusterConfig config;
    if (!root.is_object()) {
      Error("", "the config must be a JSON object, not " + std::string(root.type_name()));
      return config;
    }
    for (std::string_view key : kRequiredKeys) {
      if (!root.contains(key)) Error(std::string(key), "missing required key");
    }
    for (const auto& [key, value] : root.items()) {
      if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), key) == kTopLevelKeys.end()) {
        UnknownKey("", key, kTopLevelKeys);
      }
    }
    if (root.contains("api-nodes")) config.api_nodes = Nodes(root["api-nodes"], "api-nodes");
    if (root.contains("worker-nodes")) {
      config.worker_nodes = Nodes(root["worker-nodes"], "worker-nodes");
    }
    Int(root, "length-of-time-slice", config.slice_length_s);
    if (root.contains("first-slice")) FirstSlice(root["first-slice"], config);
    if (root.contains("routing")) config.routing = Routing(root["routing"]);
    if (root.contains("timestamp-unit")) {
      const json& unit = root["timestamp-unit"];
      if (unit == "milliseconds") {
        config.timestamp_unit = TimestampUnit::kMilliseconds;
      } else if (unit == "seconds") {
        config.timestamp_unit = TimestampUnit::kSeconds;
      } else {
        Error("timestamp-unit", "must be \"milliseconds\" or \"seconds\", not " + Shown(unit));
      }
    }
    Int(root, "cache-ttl-ms", config.cache_ttl_ms);
    Int(root, "reload-interval-s", config.reload_interval_s);
    Int(root, "max-future-s", config.max_future_s);
    if (root.contains("max-late-slices") && root["max-late-slices"].is_null()) {
      config.max_late_slices.reset();  // explicitly unlimited
    } else if (root.contains("max-late-slices")) {
      int64_t value = 0;
      if (Int(root, "max-late-slices", value)) config.max_late_slices = value;
    }
    return config;
  }

 private:
  void Error(std::string path, std::string message) {
    problems_.push_back({ConfigProblem::Severity::kError, std::move(path), 0, std::move(message)});
  }

  void UnknownKey(const std::string& parent, const std::string& key,
                  const std::vector<std::string_view>& known) {
    std::string message = "unknown key";
    const std::string suggestion = SuggestKey(key, known);
    if (!suggestion.empty()) message += " (did you mean \"" + suggestion + "\"?)";
    problems_.push_back({ConfigProblem::Severity::kWarning, MemberPath(parent, key), 0,
                         std::move(message), ConfigProblem::Kind::kUnknownKey});
  }

  // Reads an optional integer member into `out`; false if absent or wrong.
  bool Int(const json& object, const std::string& key, int64_t& out) {
    if (!object.contains(key)) return false;
    const std::optional<int64_t> value = AsInt64(object[key]);
    if (!value) {
      Error(key, "must be an integer, not " + Shown(object[key]));
      return false;
    }
    out = *value;
    return true;
  }

  std::map<std::string, std::string> Nodes(const json& value, const std::string& key) {
    std::map<std::string, std::string> nodes;
    if (!value.is_object()) {
      Error(key, "must be an object of node id → URL, not " + std::string(value.type_name()));
      return nodes;
    }
    for (const auto& [id, url] : value.items()) {
      if (!url.is_string()) {
        Error(MemberPath(key, id), "URL must be a string, not " + Shown(url));
        continue;
      }
      nodes.emplace(id, url.get<std::string>());
    }
    return nodes;
  }

  void FirstSlice(const json& value, ClusterConfig& config) {
    if (!value.is_string()) {
      Error("first-slice",
            "must be a UTC time \"YYYY-MM-DDTHH:MM:SS\" or \"system\", not " + Shown(value));
      return;
    }
    const std::string text = value.get<std::string>();
    if (text == "system") {
      config.first_slice_is_system = true;
      config.first_slice_s =
          process_start_ms_ >= 0 ? process_start_ms_ / 1000 : -((-process_start_ms_ + 999) / 1000);
      return;
    }
    const Result<int64_t> parsed = ParseUtcTime(text);
    if (!parsed.ok()) {
      Error("first-slice", "unparsable: " + parsed.status().message() + " (or \"system\")");
      return;
    }
    config.first_slice_s = *parsed;
  }

  std::vector<RoutingEntry> Routing(const json& value) {
    std::vector<RoutingEntry> routing;
    if (!value.is_array()) {
      Error("routing", "must be a list of {\"slice\": N, \"nodes\": [worker ids]}, not " +
                           std::string(value.type_name()));
      return routing;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const json& entry = value[i];
      const std::string path = IndexPath("routing", i);
      if (!entry.is_object()) {
        Error(path, "must be an object {\"slice\": N, \"nodes\": [worker ids]}");
        continue;
      }
      for (const auto& [key, member] : entry.items()) {
        if (key != "slice" && key != "nodes") UnknownKey(path, key, kRoutingEntryKeys);
      }
      RoutingEntry converted;
      bool good = true;
      if (!entry.contains("slice")) {
        Error(path + ".slice", "missing required key");
        good = false;
      } else if (const std::optional<int64_t> slice = AsInt64(entry["slice"])) {
        converted.slice = *slice;
      } else {
        Error(path + ".slice", "must be an integer, not " + Shown(entry["slice"]));
        good = false;
      }
      if (!entry.contains("nodes")) {
        Error(path + ".nodes", "missing required key");
        good = false;
      } else if (!entry["nodes"].is_array()) {
        Error(path + ".nodes", "must be a list of worker ids or replica sets (lists of ids)");
        good = false;
      } else {
        const json& nodes = entry["nodes"];
        for (size_t j = 0; j < nodes.size(); ++j) {
          std::optional<ReplicaSet> set = Set(nodes[j], IndexPath(path + ".nodes", j));
          if (!set) {
            good = false;
            continue;
          }
          converted.nodes.push_back(std::move(*set));
        }
      }
      if (good) routing.push_back(std::move(converted));
    }
    return routing;
  }

  // One element of a routing entry's `nodes`: a worker id (a set of one) or a list
  // of ids (a replica set). "0" and ["0"] are the same set. nullopt after an error.
  std::optional<ReplicaSet> Set(const json& value, const std::string& path) {
    if (value.is_string()) return ReplicaSet{value.get<std::string>()};
    if (!value.is_array()) {
      Error(path, "worker id must be a string (\"0\") or a replica set ([\"0\", \"1\"]), not " +
                      Shown(value));
      return std::nullopt;
    }
    ReplicaSet set;
    bool good = true;
    for (size_t k = 0; k < value.size(); ++k) {
      if (!value[k].is_string()) {
        Error(IndexPath(path, k), "worker id must be a string (\"0\"), not " + Shown(value[k]));
        good = false;
        continue;
      }
      set.push_back(value[k].get<std::string>());
    }
    if (!good) return std::nullopt;
    return set;
  }

  int64_t process_start_ms_;
  std::vector<ConfigProblem>& problems_;
};

ConfigProblem SyntaxError(std::string_view text, const json::parse_error& e) {
  // e.byte is the 1-based offset of the character where parsing failed.
  const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
  std::string detail = e.what();
  // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: "
  // prefix: the line is in our own format already.
  if (const size_t colon = detail.find(": "); colon != std::string::npos) {
    detail = detail.substr(colon + 2);
  }
  const SyntaxCause cause = DiagnoseSyntaxError(text, offset);
  switch (cause.kind) {
    case SyntaxCause::Kind::kUnterminatedComment:
      return {ConfigProblem::Severity::kError, "", cause.line,
              "JSON syntax error: unterminated /* comment (no closing */)"};
    case SyntaxCause::Kind::kTrailingComma:
      return {ConfigProblem::Severity::kError, "", cause.line,
              std::string("JSON syntax error: trailing comma before '") + cause.closer +
                  "' (JSON allows none)"};
    case SyntaxCause::Kind::kUnknown:
      break;
  }
  // nlohmann quotes what it last read, newlines as <U+000A>: keep the message one
  // short line.
  if (detail.size() > 200) detail = detail.substr(0, 200) + "...";
  return {ConfigProblem::Severity::kError, "", LineOfOffset(text, offset),
          "JSON syntax error: " + detail};
}

Result<ClusterConfig> FirstError(const std::string& where, const ConfigReport& report) {
  const auto errors = std::count_if(report.problems.begin(), report.problems.end(),
                                    [](const ConfigProblem& p) { return p.is_error(); });
  const auto first = std::find_if(report.problems.begin(), report.problems.end(),
                                  [](const ConfigProblem& p) { return p.is_error(); });
  std::string message = FormatProblem(where, *first);
  if (errors > 1) message += " (and " + std::to_string(errors - 1) + " more errors)";
  return Status::InvalidArgument(std::move(message));
}

Status TooLarge(uint64_t size) {
  return Status::IoError("file of " + std::to_string(size) + " bytes is larger than the " +
                         kMaxConfigSize + " a config may have");
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read: " + std::string(std::strerror(errno)));
  // A regular file's size is known before reading; a pipe or device is read up to
  // one byte past the cap.
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes) return TooLarge(size);
  std::string text;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) return TooLarge(text.size());
  }
  if (in.bad()) return Status::IoError("cannot read: " + std::string(std::strerror(errno)));
  return text;
}

}  // namespace

ConfigReport CheckClusterConfigText(std::string_view text, int64_t process_start_ms) {
  ConfigReport report;
  if (text.size() > kMaxConfigBytes) {
    report.problems.push_back(
        {ConfigProblem::Severity::kError, "", 0, TooLarge(text.size()).message()});
    return report;
  }
  if (const std::optional<int> line = LineDeeperThan(text, kMaxJsonDepth)) {
    report.problems.push_back({ConfigProblem::Severity::kError, "", *line,
                               "arrays and objects nested deeper than " +
                                   std::to_string(kMaxJsonDepth) +
                                   " levels (a cluster config needs 4)"});
    return report;
  }
  json root;
  try {
    root = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    report.problems.push_back(SyntaxError(text, e));
    return report;
  } catch (const json::out_of_range& e) {
    // A number beyond a double's range ("1e999") is out_of_range, not a parse_error,
    // and comes without its position.
    std::string detail = e.what();
    if (const size_t end = detail.find("] "); end != std::string::npos) detail.erase(0, end + 2);
    report.problems.push_back(
        {ConfigProblem::Severity::kError, "", 0, "JSON number out of range: " + detail});
    return report;
  }

  std::vector<ConfigProblem> structural;
  ClusterConfig config = Converter(process_start_ms, structural).Convert(root);
  const JsonLineIndex lines = JsonLineIndex::Build(text);
  for (const JsonLineIndex::DuplicateKey& duplicate : lines.duplicates()) {
    structural.push_back({ConfigProblem::Severity::kError, duplicate.path, duplicate.line,
                          "key repeated in the same object (only the last one would count)"});
  }

  std::set<std::string> broken_sections;
  for (const ConfigProblem& problem : structural) {
    if (problem.is_error()) broken_sections.insert(Section(problem.path));
  }
  if (broken_sections.contains("worker-nodes")) broken_sections.insert("routing");
  report.problems = std::move(structural);
  if (!broken_sections.contains("")) {
    for (ConfigProblem& problem : ValidateClusterConfig(config)) {
      if (!broken_sections.contains(Section(problem.path))) {
        report.problems.push_back(std::move(problem));
      }
    }
  }
  for (ConfigProblem& problem : report.problems) {
    if (problem.line == 0) problem.line = lines.LineOf(problem.path);
  }
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
  if (!HasErrors(report.problems)) report.config = std::move(config);
  return report;
}

Result<std::string> ReadConfigFile(const std::string& path) { return ReadFile(path); }

ConfigReport CheckClusterConfigFile(const std::string& path, int64_t process_start_ms) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    ConfigReport report;
    report.problems.push_back({ConfigProblem::Severity::kError, "", 0, text.status().message()});
    return report;
  }
  return CheckClusterConfigText(*text, process_start_ms);
}

Result<ClusterConfig> ParseClusterConfig(std::string_view text, int64_t process_start_ms) {
  ConfigReport report = CheckClusterConfigText(text, process_start_ms);
  if (!report.ok()) return FirstError("config", report);
  return std::move(*report.config);
}

Status FirstConfigError(const std::string& where, const ConfigReport& report) {
  if (!HasErrors(report.problems)) return Status::Ok();
  return FirstError(where, report).status();
}

Result<ClusterConfig> LoadClusterConfig(const std::string& path, int64_t process_start_ms) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status().WithContext("config " + path);
  ConfigReport report = CheckClusterConfigText(*text, process_start_ms);
  if (!report.ok()) return FirstError("config " + path, report);
  return std::move(*report.config);
}

}  // namespace rt
