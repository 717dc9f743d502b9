#include "sim/report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "config/utc_time.h"

namespace rt {
namespace {

using Table = std::vector<std::vector<std::string>>;

// Columns padded to their widest cell; the start time and the last two columns
// (workers, status) left-aligned, the numbers right-aligned.
std::string FormatTable(const Table& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool left = c == 1 || c + 2 >= row.size();
      const std::string pad(widths[c] - row[c].size(), ' ');
      if (c > 0) line += "  ";
      line += left ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + ids[i];
  return out + "]";
}

std::string Pair(uint64_t oracle, const std::optional<SliceStats>& cluster,
                 uint64_t SliceStats::*field) {
  return std::to_string(oracle) + " / " + (cluster ? std::to_string((*cluster).*field) : "-");
}

std::string RowStatus(const SliceRow& row) {
  if (row.match()) return "ok";
  if (row.Within(row.cluster)) return "MISMATCH (perworker)";
  return "MISMATCH";
}

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

nlohmann::json StatsJson(const SliceStats& stats) {
  return {{"unique_users", stats.unique_users},
          {"clicks", stats.clicks},
          {"impressions", stats.impressions}};
}

nlohmann::json OptionalStatsJson(const std::optional<SliceStats>& stats) {
  return stats ? StatsJson(*stats) : nlohmann::json(nullptr);
}

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

uint64_t Events(const SliceStats& stats) { return stats.clicks + stats.impressions; }

// Events per hour: per slice, the cluster's events (bars) against the oracle's
// (line), and the POSTs accepted per hour of sending (dashed line; it differs from
// the slices by the late events, which count in their own earlier slice).
std::string ChartSvg(const SimReport& report) {
  const double width = 900, height = 300, left = 60, right = 20, top = 20, bottom = 40;
  const size_t n =
      std::max<size_t>({report.slices.size(), report.hours.size(), static_cast<size_t>(1)});
  uint64_t max_value = 1;
  for (const auto& row : report.slices) {
    max_value = std::max({max_value, Events(row.oracle), row.cluster ? Events(*row.cluster) : 0});
  }
  for (const auto& hour : report.hours) max_value = std::max(max_value, hour.accepted);
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const double step = plot_w / static_cast<double>(n);
  auto x = [&](size_t i) { return left + step * (static_cast<double>(i) + 0.5); };
  auto y = [&](uint64_t v) {
    return top + plot_h - plot_h * static_cast<double>(v) / static_cast<double>(max_value);
  };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fixed(width, 0) +
                    "\" height=\"" + Fixed(height, 0) + "\" role=\"img\">\n";
  svg += "<line x1=\"" + Fixed(left, 1) + "\" y1=\"" + Fixed(top + plot_h, 1) + "\" x2=\"" +
         Fixed(left + plot_w, 1) + "\" y2=\"" + Fixed(top + plot_h, 1) + "\" stroke=\"#333\"/>\n";
  svg += "<text x=\"" + Fixed(left - 6, 1) + "\" y=\"" + Fixed(top + 4, 1) +
         "\" text-anchor=\"end\" font-size=\"11\">" + std::to_string(max_value) + "</text>\n";
  svg += "<text x=\"" + Fixed(left - 6, 1) + "\" y=\"" + Fixed(top + plot_h, 1) +
         "\" text-anchor=\"end\" font-size=\"11\">0</text>\n";
  for (size_t i = 0; i < report.slices.size(); ++i) {
    const SliceRow& row = report.slices[i];
    const uint64_t value = row.cluster ? Events(*row.cluster) : 0;
    const std::string fill = row.match() ? "#9ecae1" : "#e6550d";
    svg += "<rect x=\"" + Fixed(x(i) - step * 0.4, 1) + "\" y=\"" + Fixed(y(value), 1) +
           "\" width=\"" + Fixed(step * 0.8, 1) + "\" height=\"" +
           Fixed(top + plot_h - y(value), 1) + "\" fill=\"" + fill + "\"><title>slice " +
           std::to_string(row.slice) + ": cluster " + std::to_string(value) + ", oracle " +
           std::to_string(Events(row.oracle)) + "</title></rect>\n";
  }
  auto polyline = [&](const std::vector<uint64_t>& values, const std::string& style) {
    std::string points;
    for (size_t i = 0; i < values.size(); ++i) {
      points += Fixed(x(i), 1) + "," + Fixed(y(values[i]), 1) + " ";
    }
    return "<polyline fill=\"none\" " + style + " points=\"" + points + "\"/>\n";
  };
  std::vector<uint64_t> oracle, accepted;
  for (const auto& row : report.slices) oracle.push_back(Events(row.oracle));
  for (const auto& hour : report.hours) accepted.push_back(hour.accepted);
  svg += polyline(oracle, "stroke=\"#08519c\" stroke-width=\"2\"");
  svg += polyline(accepted, "stroke=\"#31a354\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"");
  const double legend_y = height - 10;
  svg += "<text x=\"" + Fixed(left, 1) + "\" y=\"" + Fixed(legend_y, 1) +
         "\" font-size=\"12\"><tspan fill=\"#3182bd\">&#9632; cluster events per slice</tspan>"
         "  <tspan fill=\"#08519c\">&#8212; oracle events per slice</tspan>"
         "  <tspan fill=\"#31a354\">- - POSTs accepted per hour sent</tspan>"
         "  <tspan fill=\"#e6550d\">&#9632; mismatch</tspan></text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace

uint64_t SimReport::events() const {
  uint64_t total = 0;
  for (const auto& hour : hours) total += hour.accepted;
  return total;
}

uint64_t SimReport::gets() const {
  uint64_t total = 0;
  for (const auto& hour : hours) total += hour.gets;
  return total;
}

uint64_t SimReport::get_errors() const {
  uint64_t total = 0;
  for (const auto& hour : hours) total += hour.get_errors;
  return total;
}

uint64_t SimReport::mismatches() const {
  return static_cast<uint64_t>(
      std::count_if(slices.begin(), slices.end(), [](const SliceRow& r) { return !r.match(); }));
}

double SimReport::events_per_s() const {
  return wall_s > 0 ? static_cast<double>(events()) / wall_s : 0;
}

std::string FormatSliceTable(const SimReport& report) {
  Table rows;
  rows.push_back({"slice", "start (UTC)", "unique_users o / c", "clicks o / c", "impressions o / c",
                  "workers", "status"});
  for (const SliceRow& row : report.slices) {
    rows.push_back({std::to_string(row.slice), FormatUtcTime(row.start_s),
                    Pair(row.oracle.unique_users, row.cluster, &SliceStats::unique_users),
                    Pair(row.oracle.clicks, row.cluster, &SliceStats::clicks),
                    Pair(row.oracle.impressions, row.cluster, &SliceStats::impressions),
                    JoinIds(row.workers),
                    RowStatus(row) + (row.slack == SliceStats{} ? "" : " (unknown outcome)")});
  }
  return FormatTable(rows);
}

std::string FormatSummaryLine(const SimReport& report) {
  return std::string("simulate: ") + (report.ok() ? "ok" : "FAILED") + ": " +
         std::to_string(report.events()) + " events, " + std::to_string(report.slices.size()) +
         " slices, " + std::to_string(report.mismatches()) + " mismatches, " +
         std::to_string(report.simulated_hours) + " simulated hours, " + Fixed(report.wall_s, 1) +
         " s wall, " + Fixed(report.events_per_s(), 0) + " events/s";
}

std::string FormatReportJson(const SimReport& report) {
  nlohmann::json slices = nlohmann::json::array();
  for (const SliceRow& row : report.slices) {
    slices.push_back({{"slice", row.slice},
                      {"start", FormatUtcTime(row.start_s)},
                      {"oracle", StatsJson(row.oracle)},
                      {"cluster", OptionalStatsJson(row.cluster)},
                      {"perworker_sum", OptionalStatsJson(row.perworker)},
                      {"workers", row.workers},
                      {"slack", StatsJson(row.slack)},
                      {"match", row.match()}});
  }
  nlohmann::json hours = nlohmann::json::array();
  for (const HourRow& hour : report.hours) {
    hours.push_back({{"hour", hour.hour},
                     {"posts", hour.posts},
                     {"accepted", hour.accepted},
                     {"gets", hour.gets},
                     {"get_errors", hour.get_errors}});
  }
  const nlohmann::json out = {
      {"ok", report.ok()},
      {"seed", report.seed},
      {"simulated_hours", report.simulated_hours},
      {"api_nodes", report.api_nodes},
      {"workers", report.workers},
      {"events", report.events()},
      {"rejected", report.rejected},
      {"unknown_outcome", report.unknown},
      {"gets", report.gets()},
      {"get_errors", report.get_errors()},
      {"slice_count", report.slices.size()},
      {"mismatches", report.mismatches()},
      {"wall_s", report.wall_s},
      {"data_dir", report.data_dir},
      {"events_per_s", report.events_per_s()},
      {"changes", report.changes},
      {"failures", report.failures},
      {"slices", slices},
      {"hours", hours},
  };
  return out.dump(2) + "\n";
}

std::string FormatReportHtml(const SimReport& report) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>rt simulation report</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;font-size:13px}"
      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
      "td.l,th.l{text-align:left}tr.bad td{background:#fdd}.ok{color:#2a2}.bad{color:#c00}\n"
      "</style>\n</head>\n<body>\n<h1>rt simulation report</h1>\n";
  html += "<p class=\"" + std::string(report.ok() ? "ok" : "bad") + "\">" +
          EscapeHtml(FormatSummaryLine(report)) + "</p>\n";
  html += "<p>seed " + std::to_string(report.seed) + ", " + std::to_string(report.api_nodes) +
          " API nodes, " + std::to_string(report.workers) + " workers at the start, " +
          std::to_string(report.gets()) + " GETs (" + std::to_string(report.get_errors()) +
          " not 200), " + std::to_string(report.rejected) + " POSTs not accepted (" +
          std::to_string(report.unknown) + " of them of unknown outcome)</p>\n";
  html += "<h2>Events per hour</h2>\n" + ChartSvg(report);
  if (!report.changes.empty()) {
    html += "<h2>Changes</h2>\n<ul>\n";
    for (const auto& change : report.changes) html += "<li>" + EscapeHtml(change) + "</li>\n";
    html += "</ul>\n";
  }
  if (!report.failures.empty()) {
    html += "<h2>Failures</h2>\n<ul class=\"bad\">\n";
    for (const auto& failure : report.failures) {
      html += "<li>" + EscapeHtml(failure) + "</li>\n";
    }
    html += "</ul>\n";
  }
  html +=
      "<h2>Slices</h2>\n<table>\n<tr><th>slice</th><th class=\"l\">start (UTC)</th>"
      "<th>unique_users oracle</th><th>cluster</th><th>clicks oracle</th><th>cluster</th>"
      "<th>impressions oracle</th><th>cluster</th><th>perworker sum</th>"
      "<th class=\"l\">workers</th><th class=\"l\">status</th></tr>\n";
  auto cell = [](const std::optional<SliceStats>& stats, uint64_t SliceStats::*field) {
    return "<td>" + (stats ? std::to_string((*stats).*field) : std::string("-")) + "</td>";
  };
  for (const SliceRow& row : report.slices) {
    const std::string perworker = row.perworker
                                      ? std::to_string(row.perworker->unique_users) + " / " +
                                            std::to_string(row.perworker->clicks) + " / " +
                                            std::to_string(row.perworker->impressions)
                                      : "-";
    html += std::string(row.match() ? "<tr>" : "<tr class=\"bad\">") + "<td>" +
            std::to_string(row.slice) + "</td><td class=\"l\">" + FormatUtcTime(row.start_s) +
            "</td><td>" + std::to_string(row.oracle.unique_users) + "</td>" +
            cell(row.cluster, &SliceStats::unique_users) + "<td>" +
            std::to_string(row.oracle.clicks) + "</td>" + cell(row.cluster, &SliceStats::clicks) +
            "<td>" + std::to_string(row.oracle.impressions) + "</td>" +
            cell(row.cluster, &SliceStats::impressions) + "<td>" + perworker +
            "</td><td class=\"l\">" + EscapeHtml(JoinIds(row.workers)) + "</td><td class=\"l\">" +
            RowStatus(row) + "</td></tr>\n";
  }
  html += "</table>\n</body>\n</html>\n";
  return html;
}

}  // namespace rt
