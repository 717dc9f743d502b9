#include "server/model/stats_records.h"

#include <charconv>

namespace rt {
namespace {

constexpr size_t kMaxQuotedBytes = 128;

std::string Quote(std::string_view text) {
  if (text.size() > kMaxQuotedBytes) text = text.substr(0, kMaxQuotedBytes);
  // Appended piecewise: `"\"" + std::string(text) + ...` trips GCC 12's false
  // -Wrestrict at -O3 (GCC PR 105329), as in config/config_problem.cpp.
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted += '"';
  quoted += text;
  quoted += '"';
  return quoted;
}

template <typename Int>
bool ParseInt(std::string_view text, Int& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Which of the three numbers a block has seen so far.
struct Block {
  StatsRecord record;
  bool has_users = false;
  bool has_clicks = false;
  bool has_impressions = false;
  bool touched = false;

  bool Complete() const { return has_users && has_clicks && has_impressions; }
};

Status FinishBlock(Block& block, int line, std::vector<StatsRecord>& records) {
  if (!block.touched) return Status::Ok();
  if (!block.Complete()) {
    const char* missing = !block.has_users    ? "unique_users"
                          : !block.has_clicks ? "clicks"
                                              : "impressions";
    return Status::InvalidArgument("stats: line " + std::to_string(line) + ": block has no " +
                                   missing);
  }
  records.push_back(std::move(block.record));
  block = Block{};
  return Status::Ok();
}

}  // namespace

Result<std::vector<StatsRecord>> ParseStatsRecords(std::string_view text) {
  std::vector<StatsRecord> records;
  Block block;
  int line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;

    const std::string where = "stats: line " + std::to_string(line_number) + ": ";
    const size_t comma = line.find(',');
    if (comma == std::string_view::npos) {
      return Status::InvalidArgument(where + "expected key,value, got " + Quote(line));
    }
    const std::string_view key = line.substr(0, comma);
    const std::string_view value = line.substr(comma + 1);

    if (key == "slice") {
      if (Status s = FinishBlock(block, line_number, records); !s.ok()) return s;
      int64_t slice = 0;
      if (!ParseInt(value, slice))
        return Status::InvalidArgument(where + "bad slice " + Quote(value));
      block.record.slice = slice;
      block.touched = true;
      continue;
    }
    if (key == "start") {
      if (value.empty()) return Status::InvalidArgument(where + "empty start");
      block.record.start = std::string(value);
      block.touched = true;
      continue;
    }
    if (key == "worker") {
      if (block.has_users || block.has_clicks || block.has_impressions) {
        if (Status s = FinishBlock(block, line_number, records); !s.ok()) return s;
      }
      block.record.worker = std::string(value);
      block.touched = true;
      continue;
    }

    uint64_t* target = nullptr;
    bool* seen = nullptr;
    if (key == "unique_users" || key == "unqiue_users") {
      target = &block.record.stats.unique_users;
      seen = &block.has_users;
    } else if (key == "clicks") {
      target = &block.record.stats.clicks;
      seen = &block.has_clicks;
    } else if (key == "impressions") {
      target = &block.record.stats.impressions;
      seen = &block.has_impressions;
    } else {
      return Status::InvalidArgument(where + "unknown key " + Quote(key));
    }
    if (*seen) {
      // A repeated number starts the next block of an answer without slice lines.
      if (Status s = FinishBlock(block, line_number, records); !s.ok()) return s;
    }
    uint64_t number = 0;
    if (!ParseInt(value, number)) {
      return Status::InvalidArgument(where + "bad " + std::string(key) + " " + Quote(value));
    }
    *target = number;
    *seen = true;
    block.touched = true;
  }
  if (Status s = FinishBlock(block, line_number, records); !s.ok()) return s;
  return records;
}

std::map<int64_t, SliceStats> SumBySlice(const std::vector<StatsRecord>& records) {
  std::map<int64_t, SliceStats> out;
  for (const StatsRecord& record : records) {
    if (record.slice) out[*record.slice] += record.stats;
  }
  return out;
}

}  // namespace rt
