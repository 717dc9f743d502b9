#include "server/model/slice_stats.h"

#include <charconv>

namespace rt {
namespace {

void AppendLine(std::string& out, std::string_view name, uint64_t value) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(name);
  out.push_back(',');
  out.append(digits, end);
  out.push_back('\n');
}

// Cuts quoted input so that an error message stays one short line.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string quoted = "\"";
  for (char c : text.substr(0, kMax)) quoted.push_back(c == '\n' || c == '\r' ? ' ' : c);
  if (text.size() > kMax) quoted += "...";
  quoted += '"';
  return quoted;
}

}  // namespace

std::string FormatSliceStats(const SliceStats& stats) {
  std::string out;
  out.reserve(64);
  AppendSliceStats(out, stats);
  return out;
}

void AppendSliceStats(std::string& out, const SliceStats& stats) {
  AppendLine(out, "unique_users", stats.unique_users);
  AppendLine(out, "clicks", stats.clicks);
  AppendLine(out, "impressions", stats.impressions);
}

Result<SliceStats> ParseSliceStats(std::string_view text) {
  SliceStats stats;
  bool seen[3] = {false, false, false};
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (text.empty()) break;  // tolerate one trailing blank line
      return Status::InvalidArgument("stats line " + std::to_string(line_no) + ": empty line");
    }
    size_t comma = line.find(',');
    if (comma == std::string_view::npos) {
      return Status::InvalidArgument("stats line " + std::to_string(line_no) +
                                     ": expected name,number: " + Quote(line));
    }
    std::string_view name = line.substr(0, comma);
    std::string_view number = line.substr(comma + 1);
    int index;
    uint64_t* field;
    if (name == "unique_users" || name == "unqiue_users") {
      index = 0;
      field = &stats.unique_users;
    } else if (name == "clicks") {
      index = 1;
      field = &stats.clicks;
    } else if (name == "impressions") {
      index = 2;
      field = &stats.impressions;
    } else {
      return Status::InvalidArgument("stats line " + std::to_string(line_no) + ": unknown name " +
                                     Quote(name));
    }
    if (seen[index]) {
      return Status::InvalidArgument("stats line " + std::to_string(line_no) + ": repeated " +
                                     Quote(name));
    }
    seen[index] = true;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), *field);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
      return Status::InvalidArgument("stats line " + std::to_string(line_no) + ": bad number " +
                                     Quote(number));
    }
  }
  static constexpr std::string_view kNames[3] = {"unique_users", "clicks", "impressions"};
  for (int i = 0; i < 3; ++i) {
    if (!seen[i]) {
      return Status::InvalidArgument("stats: missing line \"" + std::string(kNames[i]) + "\"");
    }
  }
  return stats;
}

}  // namespace rt
