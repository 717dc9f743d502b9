#include "cli/stats_text.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rt::cli {
namespace {

nlohmann::ordered_json StatsObject(const StatsRecord& record) {
  nlohmann::ordered_json object;
  if (record.slice) object["slice"] = *record.slice;
  if (!record.start.empty()) object["start"] = record.start;
  if (!record.worker.empty()) object["worker"] = record.worker;
  object["unique_users"] = record.stats.unique_users;
  object["clicks"] = record.stats.clicks;
  object["impressions"] = record.stats.impressions;
  return object;
}

}  // namespace

std::string FormatStatsJson(const SliceStats& stats) {
  return StatsObject(StatsRecord{std::nullopt, "", stats}).dump();
}

std::string FormatRecordsJson(const std::vector<StatsRecord>& records) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const StatsRecord& record : records) array.push_back(StatsObject(record));
  return array.dump();
}

std::string FormatRecordsTable(const std::vector<StatsRecord>& records, bool total_row) {
  const bool with_slice = std::any_of(records.begin(), records.end(),
                                      [](const StatsRecord& r) { return r.slice.has_value(); });
  const bool with_start = std::any_of(records.begin(), records.end(),
                                      [](const StatsRecord& r) { return !r.start.empty(); });
  const bool with_worker = std::any_of(records.begin(), records.end(),
                                       [](const StatsRecord& r) { return !r.worker.empty(); });
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  if (with_slice) header.push_back("slice");
  if (with_start) header.push_back("start_utc");
  if (with_worker) header.push_back("worker");
  header.insert(header.end(), {"unique_users", "clicks", "impressions"});
  rows.push_back(header);

  auto add_row = [&](const std::string& slice, const std::string& start, const std::string& worker,
                     const SliceStats& s) {
    std::vector<std::string> row;
    if (with_slice) row.push_back(slice);
    if (with_start) row.push_back(start);
    if (with_worker) row.push_back(worker);
    row.insert(row.end(), {std::to_string(s.unique_users), std::to_string(s.clicks),
                           std::to_string(s.impressions)});
    rows.push_back(std::move(row));
  };
  SliceStats total;
  for (const StatsRecord& record : records) {
    add_row(record.slice ? std::to_string(*record.slice) : "", record.start, record.worker,
            record.stats);
    total += record.stats;
  }
  // The label needs a text column to stand in.
  if (total_row && (with_slice || with_worker)) {
    add_row(with_slice ? "total" : "", "", with_slice ? "" : "total", total);
  }

  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  // Text columns (slice, worker) align left, the numbers right.
  const size_t first_number = header.size() - 3;
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string padding(widths[i] - row[i].size(), ' ');
      line += i < first_number ? row[i] + padding : padding + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace rt::cli
